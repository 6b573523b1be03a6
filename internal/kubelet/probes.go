package kubelet

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type probeKind string

const (
	probeStartup   probeKind = "Startup"
	probeLiveness  probeKind = "Liveness"
	probeReadiness probeKind = "Readiness"
)

// probeState is one probe of one container instance.
type probeState struct {
	last             time.Time
	successes, fails int32
	result           bool
}

// probeResult is the probe's current verdict; without a probe it is true.
func (w *podWorker) probeResult(id string, kind probeKind, has bool) bool {
	if !has {
		return true
	}
	ps := w.probes[id+"/"+string(kind)]
	return ps != nil && ps.result
}

// probeContainer runs the container's due probes. It returns false when
// the container was killed (liveness or startup failure) and must restart.
func (w *podWorker) probeContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, cs *runtimeapi.ContainerStatus) bool {
	started := time.Unix(0, cs.StartedAt)
	if c.StartupProbe != nil && !w.probeResult(cs.Id, probeStartup, true) {
		if !w.runProbe(ctx, pod, c, cs.Id, started, probeStartup, c.StartupProbe) {
			return w.failed(ctx, pod, c, cs.Id, probeStartup)
		}
		if !w.probeResult(cs.Id, probeStartup, true) {
			return true
		}
	}
	if c.LivenessProbe != nil && !w.runProbe(ctx, pod, c, cs.Id, started, probeLiveness, c.LivenessProbe) {
		return w.failed(ctx, pod, c, cs.Id, probeLiveness)
	}
	if c.ReadinessProbe != nil {
		w.runProbe(ctx, pod, c, cs.Id, started, probeReadiness, c.ReadinessProbe)
	}
	return true
}

// failed kills a container whose liveness or startup probe failed.
func (w *podWorker) failed(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, kind probeKind) bool {
	grace := gracePeriod(pod)
	p := c.LivenessProbe
	if kind == probeStartup {
		p = c.StartupProbe
	}
	if p.TerminationGracePeriodSeconds != nil {
		grace = *p.TerminationGracePeriodSeconds
	}
	msg := fmt.Sprintf("Container %s failed %s probe, will be restarted; stopping container", c.Name, strings.ToLower(string(kind)))
	_ = w.k.killContainer(ctx, pod, c.Name, id, grace, msg)
	w.lastChange = time.Now()
	for _, kd := range []probeKind{probeStartup, probeLiveness, probeReadiness} {
		delete(w.probes, id+"/"+string(kd))
	}
	return false
}

// runProbe runs the probe if due and reports false only once the failure
// threshold is reached.
func (w *podWorker) runProbe(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, started time.Time, kind probeKind, p *corev1.Probe) bool {
	key := id + "/" + string(kind)
	ps := w.probes[key]
	if ps == nil {
		ps = &probeState{result: kind == probeLiveness}
		w.probes[key] = ps
	}
	now := time.Now()
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	due := started.Add(time.Duration(p.InitialDelaySeconds) * time.Second)
	if next := ps.last.Add(period); next.After(due) {
		due = next
	}
	if now.Before(due) {
		w.dueAt(due)
		return ps.result || kind != probeLiveness
	}
	ps.last = now
	w.dueAt(now.Add(period))
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	out, err := w.k.probe(ctx, pod, c, id, p, timeout)
	if err == nil {
		ps.fails, ps.successes = 0, ps.successes+1
		if ps.successes >= max(p.SuccessThreshold, 1) {
			ps.result = true
		}
		return true
	}
	ps.successes, ps.fails = 0, ps.fails+1
	w.k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeWarning, "Unhealthy", "%s probe failed: %s", kind, firstLine(err.Error()+out))
	if ps.fails >= max(p.FailureThreshold, 1) {
		ps.result = false
		return kind == probeReadiness
	}
	return true
}

// dueAt notes that a probe is due at t, so the worker wakes up for it.
func (w *podWorker) dueAt(t time.Time) {
	if w.probeDue.IsZero() || t.Before(w.probeDue) {
		w.probeDue = t
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// probe runs one exec, httpGet, tcpSocket or grpc check.
func (k *Kubelet) probe(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, p *corev1.Probe, timeout time.Duration) (string, error) {
	switch {
	case p.Exec != nil:
		resp, err := k.runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: p.Exec.Command, Timeout: int64(timeout / time.Second)})
		if err != nil {
			return "", err
		}
		if resp.ExitCode != 0 {
			return string(resp.Stdout) + string(resp.Stderr), fmt.Errorf("command %q exited with %d: ", p.Exec.Command, resp.ExitCode)
		}
		return "", nil
	case p.HTTPGet != nil:
		return k.httpProbe(ctx, pod, c, p.HTTPGet, timeout)
	case p.TCPSocket != nil:
		port, err := resolvePort(p.TCPSocket.Port, c)
		if err != nil {
			return "", err
		}
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		conn, err := k.cfg.Dial(dctx, "tcp", net.JoinHostPort(k.probeHost(pod, p.TCPSocket.Host), strconv.Itoa(port)))
		if err != nil {
			return "", err
		}
		return "", conn.Close()
	case p.GRPC != nil:
		return k.grpcProbe(ctx, pod, p.GRPC, timeout)
	}
	return "", fmt.Errorf("probe has no handler")
}

// probeHost is the host a network probe targets: its own, else the pod IP.
func (k *Kubelet) probeHost(pod *corev1.Pod, host string) string {
	if host != "" {
		return host
	}
	if pod.Status.PodIP != "" {
		return pod.Status.PodIP
	}
	return k.nodeIP
}

func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no port named %q", p.StrVal)
}

// httpProbe succeeds on a status in [200, 400).
func (k *Kubelet) httpProbe(ctx context.Context, pod *corev1.Pod, c *corev1.Container, g *corev1.HTTPGetAction, timeout time.Duration) (string, error) {
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	url := scheme + "://" + net.JoinHostPort(k.probeHost(pod, g.Host), strconv.Itoa(port)) + "/" + strings.TrimPrefix(g.Path, "/")
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: k.cfg.Dial,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}, // probes never verify, as upstream
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "kube-probe/1.37")
	for _, h := range g.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return "", fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	}
	return string(body), nil
}
