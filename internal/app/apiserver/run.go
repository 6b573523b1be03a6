package apiserver

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/klite/klite/internal/apiserver"
	"github.com/klite/klite/internal/apiserver/auth"
	"github.com/klite/klite/internal/apiserver/printers"
	"github.com/klite/klite/internal/pki"
	"github.com/klite/klite/internal/storage"
	"github.com/klite/klite/internal/storage/etcd"
)

// Ready describes a server that has started serving.
type Ready struct {
	URL        string // https://host:port
	Kubeconfig string // path of the admin kubeconfig
}

// Run serves the API until ctx is cancelled, then shuts down cleanly: watches end, in-flight
// requests finish (up to the grace period), and the etcd client closes. onReady, if set, is called
// once the server answers /readyz and the admin kubeconfig is written.
func Run(ctx context.Context, o *Options, logger *slog.Logger, onReady func(Ready)) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if len(o.EtcdServers) == 0 {
		return errors.New("no etcd servers")
	}
	certDir := filepath.Join(o.DataDir, "server", "tls")
	ca, err := pki.LoadOrCreateCA(certDir)
	if err != nil {
		return fmt.Errorf("certificate authority: %w", err)
	}
	serving, err := ca.LoadOrCreateServing(certDir, "serving", servingHosts(o))
	if err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	authn, err := authenticators(o)
	if err != nil {
		return err
	}
	saTokens, err := o.ServiceAccount.tokens(certDir)
	if err != nil {
		return err
	}
	store, err := etcd.Dial(ctx, o.EtcdServers)
	if err != nil {
		return err
	}
	defer store.Close()
	ports, _ := o.nodePortRange()
	kubeletClient, err := kubeletClientTLS(ca)
	if err != nil {
		return err
	}
	api, err := newWithAdmission(ctx, apiserver.Config{
		Storage: store, Authenticator: authn, ServiceCIDR: o.ServiceClusterIPs, NodePortRange: ports, Logger: logger,
		Tables: printers.ToTable, KubeletClient: kubeletClient, ServiceAccounts: saTokens, Extra: profilingHandlers(o.Profiling),
	})
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", net.JoinHostPort(o.BindAddress, strconv.Itoa(o.SecurePort)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serve(ctx, o, logger, api, store, ca, serving, listener, onReady)
}

func serve(ctx context.Context, o *Options, logger *slog.Logger, api *apiserver.Server, store storage.Interface, ca *pki.CA, serving pki.KeyPair, l net.Listener, onReady func(Ready)) error {
	cert, err := tls.X509KeyPair(serving.CertPEM, serving.KeyPEM)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    ca.Pool(),
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"h2", "http/1.1"},
		},
	}
	apiCtx, stopAPI := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAPI()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errc <- api.Start(apiCtx)
	}()
	go func() {
		defer wg.Done()
		if err := srv.ServeTLS(l, "", ""); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve: %w", err)
		}
	}()
	url := "https://" + net.JoinHostPort(o.advertiseHost(), strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	readyErr := make(chan error, 1)
	go func() { readyErr <- announce(ctx, o, api, ca, url, logger, onReady) }()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	case runErr = <-readyErr:
		if runErr == nil {
			select {
			case <-ctx.Done():
			case runErr = <-errc:
			}
		}
	}
	logger.Info("shutting down API server")
	stopAPI() // ends watches, so their connections can close
	shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Duration(o.ShutdownGracePeriod)*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	wg.Wait()
	return runErr
}

// announce waits for readiness, then writes the admin kubeconfig and reports.
func announce(ctx context.Context, o *Options, api *apiserver.Server, ca *pki.CA, url string, logger *slog.Logger, onReady func(Ready)) error {
	if err := api.WaitReady(ctx); err != nil {
		return nil
	}
	admin, err := ca.Client("klite-admin", "system:masters")
	if err != nil {
		return err
	}
	kc, err := pki.Kubeconfig(url, ca.CertPEM, admin, "")
	if err != nil {
		return err
	}
	path := filepath.Join(o.DataDir, "admin.kubeconfig")
	for _, p := range []string{path, o.WriteKubeconfig} {
		if p == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := pki.WriteFileAtomic(p, kc, 0o600); err != nil {
			return fmt.Errorf("write kubeconfig: %w", err)
		}
	}
	logger.Info("klite API server ready", "url", url, "kubeconfig", path)
	if onReady != nil {
		onReady(Ready{URL: url, Kubeconfig: path})
	}
	return nil
}

func servingHosts(o *Options) []string {
	hosts := []string{"localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.43.0.1"}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	if ip := net.ParseIP(o.BindAddress); ip != nil && !ip.IsUnspecified() {
		hosts = append(hosts, o.BindAddress)
	}
	if o.AdvertiseAddress != "" {
		hosts = append(hosts, o.AdvertiseAddress)
	}
	return hosts
}

// authenticators: client certificates, the node join token and an optional static token file.
func authenticators(o *Options) (auth.Authenticator, error) {
	tokens := auth.Tokens{}
	nodeToken, err := loadOrCreateToken(filepath.Join(o.DataDir, "server", "node-token"))
	if err != nil {
		return nil, err
	}
	tokens[nodeToken] = auth.User{Name: "system:node:klite-agent", UID: "klite-node", Groups: []string{"system:nodes"}}
	if o.TokenAuthFile != "" {
		extra, err := auth.LoadTokenFile(o.TokenAuthFile)
		if err != nil {
			return nil, err
		}
		for k, v := range extra {
			tokens[k] = v
		}
	}
	return auth.Union{auth.X509{}, tokens}, nil
}

func loadOrCreateToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return string(b), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(buf)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return tok, pki.WriteFileAtomic(path, []byte(tok), 0o600)
}

// kubeletClientTLS is the API server's identity towards kubelets (for logs, exec, port-forward).
func kubeletClientTLS(ca *pki.CA) (*tls.Config, error) {
	kp, err := ca.Client("kube-apiserver-kubelet-client", "system:masters")
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		return nil, err
	}
	return apiserver.KubeletClientConfig(cert, nil), nil
}
