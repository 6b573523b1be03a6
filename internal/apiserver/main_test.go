package apiserver_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klite/klite/internal/apiserver/apiservertest"
)

// cluster is shared by the package's tests: one real etcd and API server. Each test works in its
// own namespace.
var cluster *apiservertest.Cluster

func TestMain(m *testing.M) {
	c, err := apiservertest.Start("", apiservertest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start test cluster:", err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	c.Stop()
	_ = os.RemoveAll(c.DataDir)
	os.Exit(code)
}

var nsCounter atomic.Int64

// namespace creates a fresh namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%100000, nsCounter.Add(1))
	_, err := cluster.Client.CoreV1().Namespaces().Create(ctx(t), nsObj(name), createOpts)
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return name
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}
