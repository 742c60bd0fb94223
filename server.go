package main

import (
	"context"
	"github.com/carbonguard/carbonguard/archive"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// The server a command drives (wrapper) and the update transaction around
// it (hooks), built the same way for every command: the wrapper's options
// from carbonguard.toml [start], the pack opened with the system properties
// the launch passes, and hooks given the wrapper as its Server.

// serverOptions are the wrapper's options from carbonguard.toml [start];
// the commands add their flags. They carry no check gate: start, run and
// restart add it (launch.go); the starts and stops of an update or rollback
// run none (the update ran the checks; a rollback must bring back the pack
// that ran before, whatever they say now).
func (s *session) serverOptions() wrapper.Options {
	st := s.cfg.Start
	o := wrapper.Options{
		JavaHome: st.JavaHome, JavaOpts: st.JavaOpts, JVMMemOpts: st.JVMMemOpts,
		NoHostnameVerification: st.HostnameVerification != nil && !*st.HostnameVerification,
		HostnameVerifier:       st.HostnameVerifier,
		Properties:             st.Properties, Args: st.Args,
		ProxyHost: st.ProxyHost, ProxyPort: st.ProxyPort, Profile: st.Profile, Setup: st.Setup,
		AllowRoot: st.AllowRoot, RunAsUser: st.User,
		Timeout: st.Timeout.Duration, Stability: st.Stability.Duration, StopTimeout: st.StopTimeout.Duration,
		StateDir: s.state, Logger: s.log,
		Environ: childEnviron(),
	}
	for i, h := range st.Health {
		o.Health = append(o.Health, wrapper.HealthCheck{Name: "health-" + strconv.Itoa(i+1), URL: h.URL, Status: h.Status})
	}
	return o
}

func stopTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "stop-timeout", Usage: "how long to wait after SIGTERM before SIGKILL (default: [start] stop_timeout, else 2m)"}
}

// server opens the pack with the system properties the launch would pass
// (a -DportOffset moves the ports the verdict probes) and builds the
// wrapper over it.
func (s *session) server(o wrapper.Options) (*wrapper.Server, error) {
	args, err := wrapper.ScriptArgs(o)
	if err != nil {
		return nil, usagef("carbonguard.toml [start] or flags: %v", err)
	}
	p, err := s.openPack(pack.ScriptArgProps(args))
	if err != nil {
		return nil, err
	}
	srv, err := wrapper.New(p, o)
	if err != nil {
		return nil, usagef("carbonguard.toml [start]: %v", err)
	}
	s.serverOpts = o
	return srv, nil
}

// hookServer adapts the wrapper to hooks.Server.
type hookServer struct {
	sess *session
	s    *wrapper.Server
}

func (h hookServer) Running(context.Context) (int, bool, error) { return h.s.Pack().RunningPID() }

func (h hookServer) Stop(ctx context.Context) error {
	_, err := h.s.Stop(ctx)
	return err
}

// Start starts the pack as it is now. hooks starts it after u2 or a restore
// changed it (the first boot of update --start, the boot after a
// rollback), so the pack is read again, and strictly: a start needs a valid
// configuration, and the verdict probes the ports the pack now has (a
// rollback run by a command that read the broken pack leniently starts the
// restored one). No check gate runs: the update ran the checks, and a
// rollback must bring back the pack that ran before, whatever they say now.
func (h hookServer) Start(ctx context.Context) (*wrapper.Verdict, error) {
	p, err := h.sess.readPackAs(packConfig, h.sess.home, h.s.Pack().SysProps)
	if err != nil {
		return nil, err
	}
	o := h.sess.serverOpts
	o.Gate = nil
	srv, err := wrapper.New(p, o)
	if err != nil {
		return nil, usagef("carbonguard.toml [start]: %v", err)
	}
	return srv.Start(ctx)
}

// hooksEnv is the update transaction's environment: the session's pack,
// state and carbonguard.toml, srv as its server, and a progress bar (nil for
// none). hooks reads the pack through the session, with the options of the
// command's own read.
func (s *session) hooksEnv(srv *wrapper.Server, bar *progressBar) (hooks.Env, error) {
	store, err := s.store()
	if err != nil {
		return hooks.Env{}, err
	}
	var sysProps map[string]string
	if s.pack != nil {
		sysProps = s.pack.SysProps
	}
	hx := hooks.Env{
		Home: s.home, StateDir: s.state, Store: store, Server: hookServer{sess: s, s: srv},
		Notify:      s.notifier(),
		Log:         s.log,
		ToolVersion: version,
		Compression: s.cfg.Snapshot.Compression,
		Exclude:     s.cfg.Snapshot.Exclude,
		KeepData:    s.cfg.Update.KeepData,
		Out:         s.stderr,
		OpenPack:    func() (*pack.Pack, error) { return s.readPack(s.home, sysProps) },
		CrashPoint:  crashPoint,
	}
	if len(s.cfg.Snapshot.Databases) > 0 {
		// Every pre-update snapshot keeps the dumps of [[snapshot.database]].
		hx.Attachments = func(_ context.Context, p *pack.Pack, meta map[string]string) ([]archive.AttachmentSource, error) {
			return s.databaseAttachments(p, meta)
		}
	}
	if s.cfg.Remote.Push == pushAfterCreate {
		hx.AfterSnapshot = func(ctx context.Context, m *archive.Manifest) error {
			return s.pushAfterCreate(ctx, store, m.ID)
		}
	}
	if bar != nil {
		hx.Progress = bar.update
	}
	return hx, nil
}

// guardEnv is the hooks environment of update, hook and rollback: the
// wrapper from [start] without a gate (allowRoot adds --allow-root), and a
// progress bar for the snapshots and restores.
func (s *session) guardEnv(allowRoot bool) (hooks.Env, *progressBar, error) {
	so := s.serverOptions()
	so.AllowRoot = so.AllowRoot || allowRoot
	srv, err := s.server(so)
	if err != nil {
		return hooks.Env{}, nil, err
	}
	bar := s.progressBar()
	hx, err := s.hooksEnv(srv, bar)
	return hx, bar, err
}

// notifier is [notify] of carbonguard.toml; nil when nothing is configured.
func (s *session) notifier() *hooks.Notifier {
	n := s.cfg.Notify
	if n.Command == "" && n.Webhook == "" {
		return nil
	}
	return &hooks.Notifier{Command: n.Command, Webhook: n.Webhook, Timeout: n.Timeout.Duration, Log: s.log}
}
