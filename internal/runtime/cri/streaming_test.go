package cri

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/portforward"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// streamExec runs req through the Exec RPC's URL with client-go's SPDY client.
func streamExec(t *testing.T, c clients, req *runtimeapi.ExecRequest, opts remotecommand.StreamOptions) (int, error) {
	t.Helper()
	resp, err := c.rt.Exec(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(resp.Url)
	ex, err := remotecommand.NewSPDYExecutor(&restclient.Config{}, "POST", u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = ex.StreamWithContext(ctx, opts)
	var ce utilexec.CodeExitError
	if errors.As(err, &ce) {
		return ce.Code, nil
	}
	return 0, err
}

type fixedSize struct{ sent bool }

func (f *fixedSize) Next() *remotecommand.TerminalSize {
	if f.sent {
		time.Sleep(time.Hour) // one size is enough; the executor stops asking at the end
		return nil
	}
	f.sent = true
	return &remotecommand.TerminalSize{Width: 123, Height: 45}
}

func checkStreamingExec(t *testing.T, c clients, id string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code, err := streamExec(t, c, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh", "-c", "cat; echo oops >&2; exit 4"},
		Stdin: true, Stdout: true, Stderr: true},
		remotecommand.StreamOptions{Stdin: strings.NewReader("from-stdin\n"), Stdout: &out, Stderr: &errOut})
	if err != nil || code != 4 || out.String() != "from-stdin\n" || errOut.String() != "oops\n" {
		t.Errorf("exec = code %d out %q err %q, %v", code, out.String(), errOut.String(), err)
	}

	out.Reset()
	stdin := strings.NewReader("stty size; hostname; exit 0\n")
	code, err = streamExec(t, c, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh"}, Tty: true, Stdin: true, Stdout: true},
		remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Tty: true, TerminalSizeQueue: &fixedSize{}})
	if err != nil || code != 0 || !strings.Contains(out.String(), "shared-host") || !strings.Contains(out.String(), "45 123") {
		t.Errorf("tty exec = code %d out %q, %v", code, out.String(), err)
	}
}

func checkPortForward(t *testing.T, c clients, pod string) {
	t.Helper()
	resp, err := c.rt.PortForward(context.Background(), &runtimeapi.PortForwardRequest{PodSandboxId: pod, Port: []int32{8080}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(resp.Url)
	rt, upgrader, err := spdy.RoundTripperFor(&restclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, "POST", u).Dial(portforward.PortForwardV1Name)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := http.Header{}
	h.Set(corev1.PortHeader, "8080")
	h.Set(corev1.PortForwardRequestIDHeader, "0")
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	errStream, err := conn.CreateStream(h)
	if err != nil {
		t.Fatal(err)
	}
	_ = errStream.Close()
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := conn.CreateStream(h)
	if err != nil {
		t.Fatal(err)
	}
	// The pod's httpd listens on its loopback: ask it for /hostname.
	_, _ = io.WriteString(data, "GET /hostname HTTP/1.0\r\n\r\n")
	got := make(chan string, 1)
	go func() { b, _ := io.ReadAll(data); got <- string(b) }()
	select {
	case body := <-got:
		if !strings.Contains(body, "200") || !strings.HasSuffix(body, "shared-host\n") {
			t.Errorf("port-forwarded HTTP response %q", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no response through port-forward")
	}
}

func checkAttach(t *testing.T, c clients, pod string, podCfg *runtimeapi.PodSandboxConfig, ref string) {
	t.Helper()
	ctx := context.Background()
	cr, err := c.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: podCfg,
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "reader"},
			Image: &runtimeapi.ImageSpec{Image: ref}, Stdin: true, StdinOnce: true, LogPath: "reader/0.log",
			Command: []string{"sh", "-c", `while read l; do echo "got $l"; done`}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.rt.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: cr.ContainerId, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(resp.Url)
	ex, err := remotecommand.NewSPDYExecutor(&restclient.Config{}, "POST", u)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = ex.StreamWithContext(actx, remotecommand.StreamOptions{Stdin: strings.NewReader("one\ntwo\n"), Stdout: &out, Stderr: io.Discard})
	if err != nil || out.String() != "got one\ngot two\n" {
		t.Errorf("attach = %q, %v", out.String(), err)
	}
	if st := waitExited(t, c, cr.ContainerId); st.ExitCode != 0 {
		t.Errorf("reader exit %d after stdin closed", st.ExitCode)
	}
}
