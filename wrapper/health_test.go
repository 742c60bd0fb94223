package wrapper

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/pack"
)

func TestDefaultHealthChecks(t *testing.T) {
	t.Parallel()
	servlet := func(off int, httpOn bool) []pack.Port {
		return []pack.Port{
			{Name: "servlet-http", Base: 9763, Offset: off, Port: 9763 + off, Enabled: httpOn},
			{Name: "servlet-https", Base: 9443, Offset: off, Port: 9443 + off, Enabled: true},
		}
	}
	tests := []struct {
		name string
		p    pack.Pack
		want []string
	}{
		{name: "APIM 4.2 all-in-one, offset 3", p: pack.Pack{Product: pack.APIM, Version: "4.2.0", Node: "all-in-one", Ports: servlet(3, true)},
			want: []string{"http://127.0.0.1:9766/services/Version", "https://127.0.0.1:9446/api/am/gateway/v2/server-startup-healthcheck"}},
		{name: "APIM 4.7 gateway without the HTTP servlet transport", p: pack.Pack{Product: pack.APIM, Version: "4.7.0", Node: "gateway", Ports: servlet(0, false)},
			want: []string{"https://127.0.0.1:9443/api/am/gateway/v2/server-startup-healthcheck"}},
		{name: "APIM 4.7 control plane: no gateway", p: pack.Pack{Product: pack.APIM, Version: "4.7.0", Node: "control-plane", Ports: servlet(0, true)},
			want: []string{"http://127.0.0.1:9763/services/Version"}},
		{name: "APIM 3.2: before the gateway health check", p: pack.Pack{Product: pack.APIM, Version: "3.2.0", Ports: servlet(1, true)},
			want: []string{"http://127.0.0.1:9764/services/Version"}},
		{name: "IS 7.1", p: pack.Pack{Product: pack.IS, Version: "7.1.0", Ports: servlet(2, true)},
			want: []string{"https://127.0.0.1:9445/api/health-check/v1.0/health"}},
		{name: "IS 5.3: before the health check API", p: pack.Pack{Product: pack.IS, Version: "5.3.0", Ports: servlet(0, true)},
			want: []string{"tcp://127.0.0.1:9443"}},
		{name: "MI with its default offset 10", p: pack.Pack{Product: pack.MI, Version: "4.3.0",
			Ports: []pack.Port{{Name: "internal-http-api", Base: 9191, Offset: 10, Port: 9201, Enabled: true}}},
			want: []string{"http://127.0.0.1:9201/healthz"}},
		{name: "kernel", p: pack.Pack{Product: pack.Carbon, Version: "4.8.1", Ports: servlet(5, true)},
			want: []string{"tcp://127.0.0.1:9448"}},
		{name: "no port table: the offset is added to the default", p: pack.Pack{Product: pack.IS, Version: "7.0.0",
			Offset: pack.Value{Raw: int64(4), Source: pack.SourceFile}},
			want: []string{"https://127.0.0.1:9447/api/health-check/v1.0/health"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, h := range DefaultHealthChecks(&tc.p) {
				got = append(got, h.URL)
				require.NoError(t, validateHealthCheck(h))
				assert.Equal(t, strings.HasPrefix(h.URL, "https://"), h.Insecure, "only HTTPS probes skip verification")
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestValidateHealthCheck(t *testing.T) {
	t.Parallel()
	for _, bad := range []HealthCheck{
		{URL: "ftp://x/"}, {URL: "tcp://nohostport"}, {URL: "http:///path"}, {URL: "http://x/", Status: 42},
	} {
		assert.Error(t, validateHealthCheck(bad), bad.URL)
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"ready"}`)) })
	mux.HandleFunc("/faulty", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(500)
		_, _ = w.Write([]byte(`{"status":"not ready","faultyCapps":["x.car"]}`))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	plain := httptest.NewServer(mux)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()

	pr := newProber(10*time.Second, nil) // generous: the suite runs loaded
	ctx := context.Background()
	r := pr.probe(ctx, HealthCheck{URL: plain.URL + "/ok"}, time.Now)
	assert.True(t, r.OK, r.Error)
	assert.Equal(t, 200, r.Status)
	assert.Greater(t, r.LatencyMS, 0.0)
	assert.False(t, r.At.IsZero())

	r = pr.probe(ctx, HealthCheck{URL: plain.URL + "/faulty"}, time.Now)
	assert.False(t, r.OK)
	assert.Equal(t, 500, r.Status)
	assert.Contains(t, r.Body, "faultyCapps")

	r = pr.probe(ctx, HealthCheck{URL: plain.URL + "/faulty", Status: 500}, time.Now)
	assert.True(t, r.OK, "an expected status is accepted")

	r = pr.probe(ctx, HealthCheck{URL: plain.URL + "/redirect"}, time.Now)
	assert.False(t, r.OK, "a redirect (to a login page, say) is not health")
	assert.Equal(t, 302, r.Status)

	r = pr.probe(ctx, HealthCheck{URL: tlsSrv.URL + "/ok"}, time.Now)
	assert.False(t, r.OK, "a self-signed certificate fails a verifying probe")
	assert.Contains(t, r.Error, "certificate")
	r = pr.probe(ctx, HealthCheck{URL: tlsSrv.URL + "/ok", Insecure: true}, time.Now)
	assert.True(t, r.OK, r.Error)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	r = pr.probe(ctx, HealthCheck{URL: "tcp://" + addr}, time.Now)
	assert.True(t, r.OK, r.Error)
	ln.Close()
	r = pr.probe(ctx, HealthCheck{URL: "tcp://" + addr}, time.Now)
	assert.False(t, r.OK)
	assert.Contains(t, r.Error, "refused")
}
