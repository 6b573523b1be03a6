package cri

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestPullImageDeadline: a pull cut short by the caller's deadline fails
// with DeadlineExceeded, as the CRI's callers (critest, the kubelet)
// expect, not with whatever error the registry client made of it.
func TestPullImageDeadline(t *testing.T) {
	c := serve(t)
	// A registry that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// Called in-process, so the server's error is what the client sees.
	_, err = c.svc.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: ln.Addr().String() + "/slow:1"}})
	if code := status.Code(err); code != codes.DeadlineExceeded {
		t.Fatalf("PullImage past its deadline: %v (code %s), want DeadlineExceeded", err, code)
	}
}
