package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"
)

// connector is one listening port of the fake server.
type connector struct {
	Name     string // key in the invocation record: https, http, passthru_http, ...
	Port     int    // effective port (base + offset)
	TLS      bool
	Desc     string // how Tomcat/Synapse names it in logs
	Handler  http.Handler
	listener net.Listener
	server   *http.Server
}

// connectors lists what the product opens, with the offset applied. Only the
// ports a wrapper probes are opened, not JMX, Thrift or the broker: fewer
// ports means fewer collisions between parallel tests.
func connectors(p product, cfg serverConfig, h *handlers) []*connector {
	off := cfg.Offset
	switch p.Kind {
	case kindMI:
		return []*connector{
			{Name: "passthru_http", Port: 8280 + off, Desc: "Pass-through HTTP Listener", Handler: h.passThrough()},
			{Name: "passthru_https", Port: 8243 + off, TLS: true, Desc: "Pass-through HTTPS Listener", Handler: h.passThrough()},
			{Name: "management", Port: 9154 + off, TLS: true, Desc: "Management API", Handler: h.management()},
			{Name: "internal_http", Port: 9191 + off, Desc: "Internal HTTP API", Handler: h.miInternal()},
		}
	case kindAPIM:
		return []*connector{
			{Name: "https", Port: cfg.HTTPSPort + off, TLS: true, Desc: fmt.Sprintf("Connector[HTTP/1.1-%d]", cfg.HTTPSPort+off), Handler: h.servlet(true)},
			{Name: "http", Port: cfg.HTTPPort + off, Desc: fmt.Sprintf("Connector[HTTP/1.1-%d]", cfg.HTTPPort+off), Handler: h.servlet(false)},
			{Name: "passthru_http", Port: 8280 + off, Desc: "Pass-through HTTP Listener", Handler: h.passThrough()},
			{Name: "passthru_https", Port: 8243 + off, TLS: true, Desc: "Pass-through HTTPS Listener", Handler: h.passThrough()},
		}
	default:
		return []*connector{
			{Name: "https", Port: cfg.HTTPSPort + off, TLS: true, Desc: fmt.Sprintf("Connector[HTTP/1.1-%d]", cfg.HTTPSPort+off), Handler: h.servlet(true)},
			{Name: "http", Port: cfg.HTTPPort + off, Desc: fmt.Sprintf("Connector[HTTP/1.1-%d]", cfg.HTTPPort+off), Handler: h.servlet(false)},
		}
	}
}

// bindAll opens every connector or none: on the first failure the ones
// already open are closed and the failing connector is returned.
func bindAll(conns []*connector, cert tls.Certificate) (*connector, error) {
	for i, c := range conns {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port))
		if err != nil {
			for _, o := range conns[:i] {
				o.listener.Close()
			}
			return c, err
		}
		if c.TLS {
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		}
		c.listener = ln
	}
	for _, c := range conns {
		// Probes that only open a TCP connection would make net/http log
		// handshake errors; a real server keeps those out of its console.
		c.server = &http.Server{Handler: c.Handler, ReadHeaderTimeout: 5 * time.Second,
			ErrorLog: log.New(io.Discard, "", 0)}
		go c.server.Serve(c.listener) //nolint:errcheck // ends with ErrServerClosed on shutdown
	}
	return nil, nil
}

func closeAll(conns []*connector) {
	for _, c := range conns {
		if c.server != nil {
			c.server.Close()
		} else if c.listener != nil {
			c.listener.Close()
		}
	}
}

// selfSignedCert stands in for wso2carbon.jks: a throwaway key, like the
// default keystore, that clients must be told to trust or skip.
func selfSignedCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"WSO2"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// handlers answers the endpoints health checks use.
type handlers struct {
	p     product
	cfg   serverConfig
	props map[string]string
}

func (h *handlers) servlet(https bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/services/Version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		fmt.Fprintf(w, `<ns:getVersionResponse xmlns:ns="http://version.services.core.carbon.wso2.org"><return>%s</return></ns:getVersionResponse>`, h.p.serverName())
	})
	if https && h.p.Kind == kindAPIM {
		mux.HandleFunc("/api/am/gateway/v2/server-startup-healthcheck", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"isAllStartupAPIsDeployed": true})
		})
	}
	if https && h.p.Kind == kindIS {
		mux.HandleFunc("/api/health-check/v1.0/health", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"health": []map[string]string{
				{"key": "jdbc/WSO2IdentityDB.active.connection.count", "value": "1"}}})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "HTTP Status 404 – Not Found", http.StatusNotFound)
	})
	return serverHeader("WSO2 Carbon Server", mux)
}

func (h *handlers) passThrough() http.Handler {
	return serverHeader("WSO2-PassThrough-HTTP", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `<am:fault xmlns:am="http://wso2.org/apimanager"><am:code>404</am:code><am:type>Status report</am:type><am:message>Runtime Error</am:message><am:description>No matching resource found for given API Request</am:description></am:fault>`)
	}))
}

func (h *handlers) management() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"Error": "Authentication failed"})
	})
}

// miInternal serves MI's probes, each only when the script enabled it, as
// the real probes are switched on by -DenableReadinessProbe/-DenableLivenessProbe.
func (h *handlers) miInternal() http.Handler {
	mux := http.NewServeMux()
	if h.props["enableReadinessProbe"] == "true" {
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{
				"version": h.p.Version, "update_level": h.cfg.UpdateLevel, "status": "ready"})
		})
	}
	if h.props["enableLivenessProbe"] == "true" {
		mux.HandleFunc("/liveness", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"server": "started"})
		})
	}
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func serverHeader(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", name)
		h.ServeHTTP(w, r)
	})
}
