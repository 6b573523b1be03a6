package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The pods/log, pods/exec, pods/attach, pods/portforward and nodes/proxy subresources are served
// by the pod's kubelet: the API server finds the node, then proxies the request (upgrades to SPDY
// or WebSocket streams included) to the kubelet's API with its own client certificate.

// kubeletLocation is where a node's kubelet API listens.
func (s *Server) kubeletLocation(ctx context.Context, nodeName string) (*url.URL, error) {
	obj, _, err := s.stores[core.WithResource("nodes")].get(ctx, "", nodeName)
	if err != nil {
		return nil, err
	}
	node := obj.(*corev1.Node)
	host := ""
	for _, typ := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == typ && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %s has no address", nodeName))
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port == 0 {
		port = 10250
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(port))}, nil
}

// podConnect serves log, exec, attach and portforward for a pod.
func (s *Server) podConnect(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo) {
	obj, _, err := st.get(r.Context(), ri.namespace, ri.name)
	if err != nil {
		writeError(w, err)
		return
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	q := r.URL.Query()
	path := ""
	switch ri.subresource {
	case "portforward":
		path = "/portForward/" + pod.Namespace + "/" + pod.Name
	default:
		container, err := podContainer(pod, q.Get("container"), ri.subresource)
		if err != nil {
			writeError(w, err)
			return
		}
		q.Del("container")
		path = "/" + map[string]string{"log": "containerLogs", "exec": "exec", "attach": "attach"}[ri.subresource] +
			"/" + pod.Namespace + "/" + pod.Name + "/" + container
	}
	if ri.subresource == "log" {
		translateLogQuery(q)
	}
	s.proxyToKubelet(w, r, pod.Spec.NodeName, path, q.Encode())
}

// podContainer picks the container a request names, or the pod's only (or default) container.
func podContainer(pod *corev1.Pod, name, sub string) (string, error) {
	if name != "" {
		for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
			for _, c := range list {
				if c.Name == name {
					return name, nil
				}
			}
		}
		for _, c := range pod.Spec.EphemeralContainers {
			if c.Name == name {
				return name, nil
			}
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
	}
	if def := pod.Annotations["kubectl.kubernetes.io/default-container"]; def != "" {
		return def, nil
	}
	if len(pod.Spec.Containers) == 1 {
		return pod.Spec.Containers[0].Name, nil
	}
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " ")))
}

// translateLogQuery maps PodLogOptions query names to the kubelet's containerLogs parameters.
func translateLogQuery(q url.Values) {
	for _, k := range []string{"follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime", "limitBytes"} {
		if v := q.Get(k); v == "" {
			q.Del(k)
		}
	}
}

// nodeProxy serves nodes/<name>/proxy/<path>.
func (s *Server) nodeProxy(w http.ResponseWriter, r *http.Request, ri requestInfo, rest string) {
	s.proxyToKubelet(w, r, ri.name, "/"+rest, r.URL.RawQuery)
}

func (s *Server) proxyToKubelet(w http.ResponseWriter, r *http.Request, node, path, query string) {
	if s.cfg.KubeletClient == nil {
		writeError(w, apierrors.NewServiceUnavailable("the API server has no kubelet client credentials"))
		return
	}
	loc, err := s.kubeletLocation(r.Context(), node)
	if err != nil {
		writeError(w, err)
		return
	}
	target := *loc
	target.Path, target.RawQuery = path, query
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = &target
			pr.Out.Host = target.Host
			pr.Out.Header.Del("Authorization")
		},
		Transport: &http.Transport{
			TLSClientConfig:     s.cfg.KubeletClient,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   false,
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the kubelet on node %s: %v", node, err)))
		},
	}
	proxy.ServeHTTP(w, r)
}

// KubeletClientConfig returns a TLS client config presenting cert to kubelets. Like upstream's
// default (no --kubelet-certificate-authority), kubelet serving certificates are not verified
// unless roots are given.
func KubeletClientConfig(cert tls.Certificate, roots *tls.Config) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if roots != nil && roots.RootCAs != nil {
		cfg.RootCAs = roots.RootCAs
	} else {
		cfg.InsecureSkipVerify = true
	}
	return cfg
}
