package kubelet

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A container port with a hostPort answers on the node (here: 127.0.0.1
// in the test's node network namespace).
func TestHostPortReachesThePod(t *testing.T) {
	e := newEnv(t)
	p := e.pod("hostport", `mkdir -p /tmp/www && echo hostport-ok > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`,
		func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 18080, Protocol: corev1.ProtocolTCP}}
		})
	e.create(p)
	e.waitPod("hostport", 30*time.Second, "Running", running)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialInNetNS(e.netns)(ctx, network, addr)
		}}}
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := client.Get("http://127.0.0.1:18080/")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if body = string(b); strings.Contains(body, "hostport-ok") {
			return
		}
	}
	t.Fatalf("host port 18080 never answered with the pod's page (last body %q)", body)
}
