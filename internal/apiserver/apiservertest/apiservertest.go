// Package apiservertest starts a real klite API server over a real embedded etcd, in-process on
// 127.0.0.1 with random ports, for integration tests of the API server and of the components that
// talk to it.
package apiservertest

import (
	"context"
	"encoding/pem"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/klite/klite/internal/apiserver"
	"github.com/klite/klite/internal/apiserver/auth"
	"github.com/klite/klite/internal/apiserver/printers"
	"github.com/klite/klite/internal/storage/etcd"
)

// Token is the bearer token of the test cluster's admin user.
const Token = "klite-test-admin-token"

// Cluster is a running etcd + API server.
type Cluster struct {
	Etcd    *etcd.Embedded
	Store   *etcd.Store
	Server  *apiserver.Server
	HTTP    *httptest.Server
	Config  *rest.Config
	Client  kubernetes.Interface
	DataDir string

	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
	tempDir bool // DataDir was made by Start, and Stop removes it
}

// Options tune the server under test.
type Options struct {
	// Configure may change the API server's config before it is built.
	Configure func(*apiserver.Config)
}

// Start runs a cluster in dir (a fresh temporary directory when empty, removed by Stop). Stop it
// with Stop.
func Start(dir string, opts Options) (*Cluster, error) {
	var err error
	tempDir := dir == ""
	if tempDir {
		if dir, err = os.MkdirTemp("", "klite-apiserver-test-*"); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cluster{DataDir: dir, cancel: cancel, done: make(chan struct{}), tempDir: tempDir}
	c.Etcd, err = etcd.StartEmbedded(ctx, etcd.EmbedConfig{Dir: dir + "/etcd"})
	if err != nil {
		cancel()
		c.removeTempDir()
		return nil, err
	}
	if c.Store, err = etcd.Dial(ctx, []string{c.Etcd.ClientURL}); err != nil {
		c.Etcd.Close()
		cancel()
		c.removeTempDir()
		return nil, err
	}
	cfg := apiserver.Config{
		Storage:       c.Store,
		Authenticator: auth.Tokens{Token: {Name: "test-admin", Groups: []string{"system:masters"}}},
		Tables:        printers.ToTable,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	if c.Server, err = apiserver.New(cfg); err != nil {
		c.Store.Close()
		c.Etcd.Close()
		cancel()
		c.removeTempDir()
		return nil, err
	}
	go func() {
		defer close(c.done)
		_ = c.Server.Start(ctx)
	}()
	c.HTTP = httptest.NewUnstartedServer(c.Server.Handler())
	c.HTTP.EnableHTTP2 = true
	c.HTTP.StartTLS()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := c.Server.WaitReady(wctx); err != nil {
		c.Stop()
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.HTTP.Certificate().Raw})
	c.Config = &rest.Config{Host: c.HTTP.URL, BearerToken: Token, TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}, QPS: 1000, Burst: 2000}
	c.Client = kubernetes.NewForConfigOrDie(c.Config)
	return c, nil
}

// StartT starts a cluster for one test and stops it when the test ends.
func StartT(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := Start(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("start test cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// Stop shuts the server down (ending its watches) and then etcd. It is idempotent.
func (c *Cluster) Stop() {
	c.once.Do(func() {
		c.cancel()
		<-c.done
		c.HTTP.CloseClientConnections()
		c.HTTP.Close()
		c.Store.Close()
		c.Etcd.Close()
		c.removeTempDir()
	})
}

func (c *Cluster) removeTempDir() {
	if c.tempDir {
		_ = os.RemoveAll(c.DataDir)
	}
}
