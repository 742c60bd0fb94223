package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carbonguard/carbonguard/internal/durable"
	"github.com/carbonguard/carbonguard/internal/fakes/invocation"
)

const carbonMainClass = "org.wso2.carbon.bootstrap.Bootstrap"

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	start := time.Now()
	jdk := findJDK()
	cl, err := parseCommandLine(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\nError: Could not create the Java Virtual Machine.\nError: A fatal exception has occurred. Program will exit.\n", err)
		return 1
	}
	switch cl.Version {
	case versionStderr:
		jdk.printVersion(os.Stderr, false)
		return 0
	case versionStdout:
		jdk.printVersion(os.Stdout, true)
		return 0
	case versionShow:
		jdk.printVersion(os.Stderr, false)
	}
	if cl.MainClass == "" {
		fmt.Fprintln(os.Stderr, "Usage: java [options] <mainclass> [args...]\n           (to execute a class)")
		return 1
	}
	if cl.MainClass != carbonMainClass && cl.MainClass != miMainClass {
		fmt.Fprintf(os.Stderr, "Error: Could not find or load main class %s\nCaused by: java.lang.ClassNotFoundException: %s\n", cl.MainClass, cl.MainClass)
		return 1
	}
	s := &server{start: start, jdk: jdk, cl: cl}
	return s.run()
}

type server struct {
	start   time.Time
	jdk     jdkInfo
	cl      *commandLine
	props   map[string]string
	home    string
	logsDir string
	log     *carbonLog
	p       product
	cfg     serverConfig
	set     settings
	conns   []*connector
	sigs    chan os.Signal
}

const (
	clsMain      = "org.wso2.carbon.server.Main"
	clsActivator = "org.wso2.carbon.core.internal.CarbonCoreActivator"
	clsFinalizer = "org.wso2.carbon.core.internal.StartupFinalizerServiceComponent"
	clsManager   = "org.wso2.carbon.core.init.CarbonServerManager"
	clsRestarter = "org.wso2.carbon.bootstrap.SystemRestarter"
	clsCatalina  = "org.apache.catalina.util.LifecycleBase"
	clsPassThru  = "org.apache.synapse.transport.passthru.core.PassThroughListeningIOReactorManager"
	clsMIFinal   = "org.wso2.micro.integrator.initializer.StartupFinalizer"
	clsMICore    = "org.wso2.micro.integrator.core.internal.CoreServerInitializer"
)

func (s *server) run() int {
	// System properties: the JVM's -D (last wins), then what Carbon's Main
	// makes of -D program arguments, which win.
	s.props = map[string]string{}
	for k, v := range s.cl.JVMProps {
		s.props[k] = v
	}
	mainProps, _ := carbonArgs(s.cl.ProgramArgs)
	for k, v := range mainProps {
		s.props[k] = v
	}
	s.home = s.props["carbon.home"]
	if s.home == "" {
		s.home = os.Getenv("CARBON_HOME")
	}
	if s.home == "" {
		s.home, _ = os.Getwd()
	}
	s.home, _ = filepath.Abs(s.home)
	s.logsDir = filepath.Join(s.home, "repository", "logs")
	if s.cl.MainClass == miMainClass && s.props["logfiles.home"] != "" {
		s.logsDir = s.props["logfiles.home"]
	}
	if err := os.MkdirAll(s.logsDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: cannot create log directory: %v\n", err)
		return 1
	}
	var err error
	if s.log, err = openCarbonLog(filepath.Join(s.logsDir, "wso2carbon.log")); err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: cannot open log file: %v\n", err)
		return 1
	}
	defer s.log.close()

	// Signals first: a TERM during the slowest start must still end cleanly.
	s.sigs = make(chan os.Signal, 4)
	signal.Notify(s.sigs, syscall.SIGTERM)
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGHUP} {
		if !signal.Ignored(sig) { // nohup / background jobs ignore these, and so does the JVM
			signal.Notify(s.sigs, sig)
		}
	}

	// Carbon's Main writes the PID before anything else can fail.
	if err := durable.WriteFile(filepath.Join(s.home, "wso2carbon.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		s.log.error(clsMain, "Cannot write PID file: %v", err)
		return 1
	}

	s.p = detectProduct(s.home, s.props, s.cl.MainClass)
	mk, mkErr := findMarker(markerDirs(s.home, s.props))
	var setErr error
	s.set, setErr = resolveSettings(s.props, os.Getenv, mk)
	cfg, cfgErr := loadConfig(s.home, s.p, s.props)
	s.cfg = cfg
	h := &handlers{p: s.p, cfg: s.cfg, props: s.props}
	s.conns = connectors(s.p, s.cfg, h)
	s.record()

	if mkErr != nil || setErr != nil {
		e := errors.Join(mkErr, setErr)
		s.log.error(clsMain, "fakejvm: %v", e)
		fmt.Fprintf(os.Stderr, "fakejvm: %v\n", e)
		return 1
	}
	if cfgErr == nil && s.set.Behaviour == bFailConfig {
		cfgErr = &configError{s.cfg.File, fmt.Errorf("org.wso2.config.mapper.ValidationException: Error while rendering template repository/conf/carbon.xml.j2 (fake.carbon.behaviour=%s from %s)", s.set.Behaviour, s.set.BehaviourSource)}
	}
	if cfgErr != nil {
		return s.failConfig(cfgErr)
	}
	s.banner()
	return s.lifecycle()
}

func (s *server) record() {
	uid, gid := os.Getuid(), os.Getgid()
	cwd, _ := os.Getwd()
	ports := map[string]int{}
	for _, c := range s.conns {
		ports[c.Name] = c.Port
	}
	rec := invocation.Invocation{
		Time: s.start, PID: os.Getpid(), PPID: os.Getppid(), UID: uid, GID: gid, Cwd: cwd,
		Argv: append([]string{os.Args[0]}, s.cl.Argv...), JVMOptions: s.cl.Options,
		JVMProperties: s.cl.JVMProps, MainClass: s.cl.MainClass, ProgramArgs: s.cl.ProgramArgs,
		Properties: s.props, Env: captureEnv(), JavaHome: s.jdk.Home, JavaVersion: s.jdk.Version,
		CarbonHome: s.home, Product: s.p.Code, ServerName: s.p.serverName(),
		Behaviour: s.set.Behaviour, BehaviourSource: s.set.BehaviourSource,
		Offset: s.cfg.Offset, Ports: ports,
	}
	if rec.ProgramArgs == nil {
		rec.ProgramArgs = []string{}
	}
	if err := invocation.Append(filepath.Join(s.logsDir, invocation.File), rec); err != nil {
		fmt.Fprintf(os.Stderr, "fakejvm: cannot record invocation: %v\n", err)
	}
}

// failConfig mirrors Main: java.util.logging to the console (stderr), then
// exit 1 before OSGi starts. The same lines also go to wso2carbon.log so a
// wrapper that started the server with `start` (console discarded) sees them.
func (s *server) failConfig(err error) int {
	file, cause := "", err
	var ce *configError
	if errors.As(err, &ce) {
		file, cause = ce.file, ce.err
	}
	trace := fmt.Sprintf("org.wso2.config.mapper.ConfigParserException: Error while performing configuration changes in %s\n"+
		"\tat org.wso2.config.mapper.ConfigParser.parse(ConfigParser.java:118)\n"+
		"\tat org.wso2.carbon.server.Main.handleConfiguration(Main.java:245)\n"+
		"\tat org.wso2.carbon.server.Main.main(Main.java:118)\n"+
		"Caused by: %v", file, cause)
	fmt.Fprintf(os.Stderr, "%s %s main\nSEVERE: Error while performing configuration changes\n%s\n",
		time.Now().Format("Jan 02, 2006 3:04:05 PM"), clsMain, trace)
	s.log.log("SEVERE", clsMain, "Error while performing configuration changes")
	s.log.raw(trace)
	return 1
}

func (s *server) banner() {
	if s.p.Kind == kindMI {
		s.log.info("org.wso2.micro.integrator.bootstrap.Bootstrap", "Starting %s ...", s.p.Name)
		s.log.info(clsMICore, "Starting Micro Integrator...")
		s.log.info(clsMICore, "Operating System : %s %s", runtime.GOOS, runtime.GOARCH)
		s.log.info(clsMICore, "Java Home        : %s", s.jdk.Home)
		s.log.info(clsMICore, "Java Version     : %s", s.jdk.Version)
		s.log.info(clsMICore, "Carbon Home      : %s", s.home)
		return
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	s.log.info(clsActivator, "Starting WSO2 Carbon...")
	s.log.info(clsActivator, "Operating System : %s %s", "Linux", runtime.GOARCH)
	s.log.info(clsActivator, "Java Home        : %s", s.jdk.Home)
	s.log.info(clsActivator, "Java Version     : %s", s.jdk.Version)
	s.log.info(clsActivator, "Java VM          : OpenJDK 64-Bit Server VM %s+6-LTS,%s", s.jdk.Version, s.jdk.Vendor)
	s.log.info(clsActivator, "Carbon Home      : %s", s.home)
	s.log.info(clsActivator, "Java Temp Dir    : %s", s.props["java.io.tmpdir"])
	s.log.info(clsActivator, "User             : %s, en-US, %s", name, time.Now().Format("MST"))
}

// lifecycle runs the chosen behaviour to its end and returns the exit status.
func (s *server) lifecycle() int {
	switch s.set.Behaviour {
	case bHangOSGi:
		tick := time.NewTicker(s.set.OSGiInterval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				s.log.warn(clsFinalizer, "Waiting for required OSGi services: [org.wso2.carbon.registry.core.service.RegistryService, org.wso2.carbon.user.core.service.RealmService, org.wso2.carbon.apimgt.impl.APIManagerConfigurationService]")
			case sig := <-s.sigs:
				return s.shutdown(sig)
			}
		}
	case bStartupFailed:
		if code, stop := s.sleep(s.set.Delay); stop {
			return code
		}
		s.log.fatal(clsManager, "%s startup failed.", s.p.Name)
		s.log.raw("org.wso2.carbon.CarbonException: Exception occurred while initializing the registry\n\tat org.wso2.carbon.core.init.CarbonServerManager.initializeCarbon(CarbonServerManager.java:528)\n\tat org.wso2.carbon.core.init.CarbonServerManager.start(CarbonServerManager.java:219)")
		return s.waitSignal()
	}

	if code, stop := s.sleep(s.set.Delay); stop {
		return code
	}
	cert, err := selfSignedCert()
	if err != nil {
		s.log.error(clsMain, "cannot create TLS certificate: %v", err)
		return 1
	}
	if failed, err := bindAll(s.conns, cert); err != nil {
		return s.bindFailure(failed, err)
	}
	defer closeAll(s.conns)
	s.logStarted()

	var after <-chan time.Time
	switch s.set.Behaviour {
	case bCrashAfter, bOOM:
		after = time.After(s.set.CrashAfter)
	case bRestartOnce:
		if _, err := os.Stat(s.restartMarker()); errors.Is(err, os.ErrNotExist) {
			after = time.After(s.set.CrashAfter)
		}
	}
	for {
		select {
		case sig := <-s.sigs:
			return s.shutdown(sig)
		case <-after:
			return s.afterUp()
		}
	}
}

func (s *server) restartMarker() string {
	return filepath.Join(s.logsDir, ".fakejvm-restart-once.done")
}

func (s *server) afterUp() int {
	switch s.set.Behaviour {
	case bCrashAfter:
		s.log.fatal(clsManager, "%s crashed: fatal error in the OSGi framework (fake.carbon.behaviour=crash-after)", s.p.serverName())
		return 1
	case bOOM:
		s.log.error("org.apache.catalina.core.StandardWrapperValve", "Servlet.service() for servlet [bridgeservlet] threw exception")
		s.log.raw("java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)")
		fmt.Fprintln(os.Stdout, "java.lang.OutOfMemoryError: Java heap space")
		s.heapDump()
		return 3 // as with -XX:+ExitOnOutOfMemoryError; see the package report
	case bRestartOnce:
		_ = durable.WriteFile(s.restartMarker(), []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644)
		s.log.info(clsRestarter, "Starting a new Carbon instance. Current instance will be shutdown")
		s.shutdownLines()
		return 121
	}
	return 0
}

func (s *server) heapDump() {
	var path string
	on := false
	for _, o := range s.cl.Options {
		if o == "-XX:+HeapDumpOnOutOfMemoryError" {
			on = true
		}
		if v, ok := strings.CutPrefix(o, "-XX:HeapDumpPath="); ok {
			path = v
		}
	}
	if !on {
		return
	}
	if path == "" {
		path = fmt.Sprintf("java_pid%d.hprof", os.Getpid())
	}
	fmt.Fprintf(os.Stdout, "Dumping heap to %s ...\n", path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stdout, "Unable to create %s: File exists\n", path)
		return
	}
	n, _ := f.WriteString("JAVA PROFILE 1.0.2\x00")
	f.Close()
	fmt.Fprintf(os.Stdout, "Heap dump file created [%d bytes in 0.001 secs]\n", n)
}

func (s *server) bindFailure(c *connector, err error) int {
	if strings.HasPrefix(c.Name, "passthru") {
		s.log.error(clsPassThru, "Endpoint : 0.0.0.0:%d - %s startup failed", c.Port, c.Desc)
		s.log.raw("java.net.BindException: Address already in use\n\tat java.base/sun.nio.ch.Net.bind0(Native Method)\n\tat java.base/sun.nio.ch.Net.bind(Net.java:555)")
	} else {
		s.log.error(clsCatalina, "Failed to initialize component [%s]", c.Desc)
		s.log.raw(fmt.Sprintf("org.apache.catalina.LifecycleException: Protocol handler initialization failed\n\tat org.apache.catalina.connector.Connector.initInternal(Connector.java:1071)\nCaused by: java.net.BindException: Address already in use\n\tat java.base/sun.nio.ch.Net.bind0(Native Method)\n\t(%v)", err))
	}
	s.log.fatal(clsManager, "%s startup failed.", s.p.Name)
	return 1
}

func (s *server) logStarted() {
	for _, c := range s.conns {
		if strings.HasPrefix(c.Name, "passthru") {
			s.log.info(clsPassThru, "%s started on 0.0.0.0:%d", c.Desc, c.Port)
		}
	}
	elapsed := time.Since(s.start)
	if s.p.Kind == kindMI {
		s.log.info(clsMIFinal, "WSO2 Micro Integrator started in %.2f seconds", elapsed.Seconds())
		return
	}
	for _, c := range s.conns {
		switch {
		case strings.HasPrefix(c.Name, "passthru"):
		case c.TLS:
			s.log.info("org.apache.coyote.http11.Http11NioProtocol", "Starting ProtocolHandler [\"https-jsse-nio-%d\"]", c.Port)
		default:
			s.log.info("org.apache.coyote.http11.Http11NioProtocol", "Starting ProtocolHandler [\"http-nio-%d\"]", c.Port)
		}
	}
	s.log.info(clsFinalizer, "Server           :  %s", s.p.serverName())
	s.log.info(clsFinalizer, "WSO2 Carbon started in %d sec", int(elapsed.Seconds()))
	// IS 7.x kernels (4.10) dropped "Mgt Console URL"; APIM and older kernels print it.
	if !(s.p.Kind == kindIS && strings.HasPrefix(s.p.Version, "7.")) {
		s.log.info("org.wso2.carbon.ui.internal.CarbonUIServiceComponent", "Mgt Console URL  : https://localhost:%d/carbon/", s.cfg.HTTPSPort+s.cfg.Offset)
	}
}

// sleep waits d unless a signal arrives first, in which case it shuts down.
func (s *server) sleep(d time.Duration) (int, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return 0, false
	case sig := <-s.sigs:
		return s.shutdown(sig), true
	}
}

func (s *server) waitSignal() int {
	return s.shutdown(<-s.sigs)
}

func (s *server) shutdown(sig os.Signal) int {
	if s.set.Behaviour == bIgnoreTerm {
		s.log.info(clsManager, "Shutdown hook triggered....")
		s.log.info(clsManager, "Gracefully shutting down %s...", s.p.Name)
		// The shutdown never completes; only SIGKILL ends this process.
		for range s.sigs {
		}
	}
	s.shutdownLines()
	closeAll(s.conns)
	if s.set.StopDelay > 0 {
		time.Sleep(s.set.StopDelay)
	}
	code := 143
	switch sig {
	case syscall.SIGINT:
		code = 130
	case syscall.SIGHUP:
		code = 129
	}
	return code
}

func (s *server) shutdownLines() {
	if s.p.Kind == kindMI {
		s.log.info(clsMICore, "Shutting down Micro Integrator...")
		s.log.info(clsMICore, "Micro Integrator Shutdown complete")
		return
	}
	s.log.info(clsManager, "Shutdown hook triggered....")
	s.log.info(clsManager, "Gracefully shutting down %s...", s.p.Name)
	s.log.info("org.wso2.carbon.core.ServerManagement", "Starting to switch to maintenance mode...")
	s.log.info(clsManager, "Shutting down OSGi framework...")
	s.log.info(clsManager, "Shutdown complete")
	s.log.info(clsManager, "Halting JVM")
}
