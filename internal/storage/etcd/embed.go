package etcd

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// EmbedConfig configures an embedded single-member etcd.
type EmbedConfig struct {
	Dir        string // data directory
	ClientPort int    // 0 picks a free port
	PeerPort   int    // 0 picks a free port
	Host       string // listen host; 127.0.0.1 when empty
}

// Embedded is a running embedded etcd member.
type Embedded struct {
	etcd      *embed.Etcd
	ClientURL string
	closeOnce sync.Once
}

// StartEmbedded starts etcd and waits until it serves. Stop it with Close.
func StartEmbedded(ctx context.Context, c EmbedConfig) (*Embedded, error) {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	var err error
	if c.ClientPort == 0 {
		if c.ClientPort, err = freePort(c.Host); err != nil {
			return nil, err
		}
	}
	if c.PeerPort == 0 {
		if c.PeerPort, err = freePort(c.Host); err != nil {
			return nil, err
		}
	}
	cfg := embed.NewConfig()
	cfg.Name = "klite"
	cfg.Dir = c.Dir
	cfg.WalDir = filepath.Join(c.Dir, "wal")
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", c.Host, c.ClientPort)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", c.Host, c.PeerPort)}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	// Keep fewer raft entries in memory: a single member has no followers to catch up.
	cfg.SnapshotCount = 5000
	cfg.SnapshotCatchUpEntries = 5000
	cfg.QuotaBackendBytes = 8 << 30
	cfg.MaxRequestBytes = 4 << 20
	cfg.WatchProgressNotifyInterval = 5 * time.Second
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", c.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready in 60s", c.Dir)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Embedded{etcd: e, ClientURL: clientURL.String()}, nil
}

// Close stops the member and waits for it to exit.
// Close may be called more than once.
func (e *Embedded) Close() { e.closeOnce.Do(e.etcd.Close) }

// Err reports a fatal error of the running member.
func (e *Embedded) Err() <-chan error { return e.etcd.Err() }
