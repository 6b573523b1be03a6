package kubelet

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// server is the kubelet API:
//
//	GET  /healthz                                         ok
//	GET  /pods                                            PodList of the pods running here
//	GET  /containerLogs/{ns}/{pod}/{container}            ?follow ?previous ?tailLines ?sinceSeconds ?timestamps ?limitBytes
//	GET|POST /exec/{ns}/{pod}/{container}?command=..      SPDY or WebSocket upgrade (stdin, stdout, stderr, tty)
//	GET|POST /attach/{ns}/{pod}/{container}               SPDY or WebSocket upgrade
//	GET|POST /portForward/{ns}/{pod}                      SPDY, or SPDY tunnelled in a WebSocket
//	GET  /stats/summary                                   stats/v1alpha1 Summary (stats.go)
//	GET  /metrics/resource                                resource metrics, Prometheus text (metrics.go)
//
// exec, attach and portForward are proxied to the CRI's streaming server.
// With a client CA every request is authenticated by its client
// certificate and authorised (auth.go).
type server struct {
	k   *Kubelet
	srv *http.Server
	ln  net.Listener
}

func (k *Kubelet) newServer() (*server, error) {
	tlsCfg, err := k.serverTLS()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", k.cfg.Address)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.addr = ln.Addr().String() // known before the node registers: it advertises the port
	k.mu.Unlock()
	s := &server{k: k, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("GET /pods", s.pods)
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.logs)
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", s.stream("exec"))
	mux.HandleFunc("/attach/{ns}/{pod}/{container}", s.stream("attach"))
	mux.HandleFunc("/portForward/{ns}/{pod}", s.stream("portForward"))
	mux.HandleFunc("GET /stats/summary", s.summary)
	mux.HandleFunc("GET /metrics/resource", s.resourceMetrics)
	if k.cfg.ClientCAFile == "" {
		k.log.Warn("kubelet API serves unauthenticated clients: no --client-ca-file")
	}
	s.srv = &http.Server{Handler: withAuth(mux, k.cfg.ClientCAFile != ""), TLSConfig: tlsCfg, ReadHeaderTimeout: 30 * time.Second}
	return s, nil
}

// port is the kubelet API's port, advertised in the Node's daemonEndpoints so that the API
// server proxies logs, exec and port-forward to this kubelet and not another on the host.
func (k *Kubelet) port() int32 {
	_, p, err := net.SplitHostPort(k.Addr())
	if err != nil {
		return KubeletPort
	}
	n, err := strconv.Atoi(p)
	if err != nil || n == 0 {
		return KubeletPort
	}
	return int32(n)
}

// Addr is where the kubelet API listens (for tests binding port 0).
func (k *Kubelet) Addr() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.addr
}

func (s *server) run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.srv.ServeTLS(s.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.k.log.Warn("kubelet server", "err", err)
		}
	}()
	<-ctx.Done()
	_ = s.srv.Close()
	<-done
}

// serverTLS loads the configured certificate or makes a self-signed one.
func (k *Kubelet) serverTLS() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if k.cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(k.cfg.TLSCertFile, k.cfg.TLSKeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	} else {
		cert, err := selfSigned(k.cfg.NodeName, k.nodeIP)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if k.cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(k.cfg.ClientCAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA file %s holds no certificate", k.cfg.ClientCAFile)
		}
		// Verified when given; a request without one gets 401 (withAuth).
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

func selfSigned(host, ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host + "@kubelet"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), DNSNames: []string{host},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if p := net.ParseIP(ip); p != nil {
		tmpl.IPAddresses = []net.IP{p}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func (s *server) pods(w http.ResponseWriter, _ *http.Request) {
	list := &corev1.PodList{}
	list.Kind, list.APIVersion = "PodList", "v1"
	pods, _ := s.k.pods.List(labels.Everything())
	for _, p := range pods {
		if !isMirror(p) {
			list.Items = append(list.Items, *p)
		}
	}
	s.k.static.mu.Lock()
	for _, p := range s.k.static.pods {
		list.Items = append(list.Items, *p)
	}
	s.k.static.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

// findContainer resolves ns/pod/container to the runtime's container
// (previous: the one before the newest).
func (s *server) findContainer(ctx context.Context, ns, name, container string, previous bool) (*runtimeapi.ContainerStatus, *corev1.Pod, error) {
	pod := s.k.findPod(ns, name)
	if pod == nil {
		return nil, nil, fmt.Errorf("pod %s/%s not found", ns, name)
	}
	rp, err := s.k.getRuntimePod(ctx, pod.UID, time.Now())
	if err != nil {
		return nil, nil, err
	}
	if container == "" && len(pod.Spec.Containers) == 1 {
		container = pod.Spec.Containers[0].Name
	}
	cs := rp.latest(container)
	if previous {
		cs = rp.previous(container)
	}
	if cs == nil {
		return nil, pod, fmt.Errorf("container %q in pod %q not found", container, name)
	}
	return cs, pod, nil
}

// findPod looks a pod up among API pods and static pods.
func (k *Kubelet) findPod(ns, name string) *corev1.Pod {
	if p, err := k.pods.Pods(ns).Get(name); err == nil && !isMirror(p) {
		return p
	}
	k.static.mu.Lock()
	defer k.static.mu.Unlock()
	for _, p := range k.static.pods {
		if p.Namespace == ns && p.Name == name {
			return p
		}
	}
	return nil
}

func (s *server) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cs, _, err := s.findContainer(r.Context(), r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container"), q.Get("previous") == "true")
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	opts := logOptions{follow: q.Get("follow") == "true", timestamps: q.Get("timestamps") == "true", tail: -1}
	if v := q.Get("tailLines"); v != "" {
		opts.tail, _ = strconv.Atoi(v)
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, _ := strconv.Atoi(v)
		opts.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		opts.since, _ = time.Parse(time.RFC3339, v)
	}
	if v := q.Get("limitBytes"); v != "" {
		opts.limit, _ = strconv.ParseInt(v, 10, 64)
	}
	w.Header().Set("Content-Type", "text/plain")
	opts.running = func() bool {
		st, err := s.k.runtime.ContainerStatus(r.Context(), &runtimeapi.ContainerStatusRequest{ContainerId: cs.Id})
		return err == nil && st.Status.State == runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	if err := writeLogs(r.Context(), w, cs.LogPath, opts); err != nil && r.Context().Err() == nil {
		s.k.log.Debug("container logs", "err", err)
	}
}

// stream asks the runtime for an exec, attach or port-forward URL and
// proxies the (upgrading) request to it.
func (s *server) stream(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		target, err := s.streamURL(r, kind)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		u, err := url.Parse(target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = u
			pr.Out.Host = u.Host
		}}
		proxy.ServeHTTP(w, r)
	}
}

func (s *server) streamURL(r *http.Request, kind string) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	ns, name := r.PathValue("ns"), r.PathValue("pod")
	if kind == "portForward" {
		pod := s.k.findPod(ns, name)
		if pod == nil {
			return "", fmt.Errorf("pod %s/%s not found", ns, name)
		}
		rp, err := s.k.getRuntimePod(ctx, pod.UID, time.Now())
		if err != nil || rp.sandbox == nil {
			return "", fmt.Errorf("pod %s/%s has no running sandbox", ns, name)
		}
		resp, err := s.k.runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: rp.sandbox.Id})
		if err != nil {
			return "", err
		}
		return resp.Url, nil
	}
	cs, _, err := s.findContainer(ctx, ns, name, r.PathValue("container"), false)
	if err != nil {
		return "", err
	}
	stdin, stdout, stderr, tty := q.Get("stdin") == "true" || q.Get("input") == "1", q.Get("stdout") == "true" || q.Get("output") == "1",
		q.Get("stderr") == "true" || q.Get("error") == "1", q.Get("tty") == "true" || q.Get("tty") == "1"
	if kind == "attach" {
		resp, err := s.k.runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: cs.Id, Stdin: stdin, Stdout: stdout, Stderr: stderr && !tty, Tty: tty})
		if err != nil {
			return "", err
		}
		return resp.Url, nil
	}
	resp, err := s.k.runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: cs.Id, Cmd: q["command"], Stdin: stdin, Stdout: stdout, Stderr: stderr && !tty, Tty: tty})
	if err != nil {
		return "", err
	}
	return resp.Url, nil
}

// logOptions are the containerLogs query parameters.
type logOptions struct {
	follow, timestamps bool
	tail               int
	since              time.Time
	limit              int64
	running            func() bool
}

// writeLogs copies a CRI log file ("<RFC3339Nano> <stream> <P|F> <text>")
// as plain text, joining partial lines, honouring tail/since/limit, and
// following new lines while the container runs.
func writeLogs(ctx context.Context, w io.Writer, path string, o logOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var lines []string
	br := bufio.NewReader(f)
	var written int64
	emit := func(line string) error {
		if o.limit > 0 && written >= o.limit {
			return io.EOF
		}
		if o.limit > 0 && written+int64(len(line)) > o.limit {
			line = line[:o.limit-written]
		}
		written += int64(len(line))
		_, err := io.WriteString(w, line)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		return err
	}
	partial := ""
	for {
		raw, err := br.ReadString('\n')
		if raw != "" && strings.HasSuffix(raw, "\n") {
			if out, ok := parseLogLine(raw, &partial, o); ok {
				lines = append(lines, out)
			}
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		break
	}
	if o.tail >= 0 && len(lines) > o.tail {
		lines = lines[len(lines)-o.tail:]
	}
	for _, l := range lines {
		if err := emit(l); err != nil {
			return nil
		}
	}
	if !o.follow {
		return nil
	}
	return followLogs(ctx, br, &partial, o, emit)
}

func followLogs(ctx context.Context, br *bufio.Reader, partial *string, o logOptions, emit func(string) error) error {
	pending := ""
	for ctx.Err() == nil {
		raw, err := br.ReadString('\n')
		pending += raw
		if strings.HasSuffix(pending, "\n") {
			if out, ok := parseLogLine(pending, partial, o); ok {
				if emit(out) != nil {
					return nil
				}
			}
			pending = ""
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		if !o.running() {
			return nil
		}
		sleep(ctx, 200*time.Millisecond)
	}
	return nil
}

// parseLogLine turns one CRI log line into output text; partial lines
// accumulate until their final part.
func parseLogLine(raw string, partial *string, o logOptions) (string, bool) {
	raw = strings.TrimSuffix(raw, "\n")
	parts := strings.SplitN(raw, " ", 4)
	if len(parts) < 4 {
		return "", false
	}
	ts, err := time.Parse(time.RFC3339Nano, parts[0])
	if err == nil && !o.since.IsZero() && ts.Before(o.since) {
		return "", false
	}
	if parts[2] == "P" {
		*partial += parts[3]
		return "", false
	}
	text := *partial + parts[3] + "\n"
	*partial = ""
	if o.timestamps {
		text = parts[0] + " " + text
	}
	return text, true
}
