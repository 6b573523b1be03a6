package kubelet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// Annotations of static and mirror pods, as upstream.
const (
	annConfigSource = "kubernetes.io/config.source"
	annConfigHash   = "kubernetes.io/config.hash"
	annConfigMirror = "kubernetes.io/config.mirror"
)

func isStatic(pod *corev1.Pod) bool { return pod.Annotations[annConfigSource] == "file" }
func isMirror(pod *corev1.Pod) bool { _, ok := pod.Annotations[annConfigMirror]; return ok }

// staticPods runs the pods of the manifest directory and mirrors them
// into the API server.
type staticPods struct {
	k    *Kubelet
	mu   sync.Mutex
	pods map[types.UID]*corev1.Pod // by UID, the content hash
}

func newStaticPods(k *Kubelet) *staticPods {
	return &staticPods{k: k, pods: map[types.UID]*corev1.Pod{}}
}

// run rescans the directory every 2 s and keeps the mirrors in sync.
func (s *staticPods) run(ctx context.Context) {
	if s.k.cfg.ManifestPath == "" {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		s.sync(ctx)
	}
}

// sync starts new and changed manifests' pods, stops removed ones.
func (s *staticPods) sync(ctx context.Context) {
	if s.k.cfg.ManifestPath == "" {
		return
	}
	current := s.read()
	s.mu.Lock()
	old := s.pods
	s.pods = current
	s.mu.Unlock()
	for uid, pod := range old {
		if _, ok := current[uid]; !ok {
			s.k.dispatch(pod, true)
			s.deleteMirror(ctx, pod)
		}
	}
	for _, pod := range current {
		s.k.dispatch(pod, false)
		s.ensureMirror(ctx, pod)
	}
}

// read parses every manifest; a pod's UID is the hash of its file and node.
func (s *staticPods) read() map[types.UID]*corev1.Pod {
	out := map[types.UID]*corev1.Pod{}
	entries, err := os.ReadDir(s.k.cfg.ManifestPath)
	if err != nil {
		return out
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.k.cfg.ManifestPath, name))
		if err != nil {
			continue
		}
		pod, err := s.parse(name, b)
		if err != nil {
			s.k.log.Warn("bad static pod manifest", "file", name, "err", err)
			continue
		}
		out[pod.UID] = pod
	}
	return out
}

func (s *staticPods) parse(file string, b []byte) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := yaml.UnmarshalStrict(b, pod); err != nil {
		if err := yaml.Unmarshal(b, pod); err != nil {
			return nil, err
		}
	}
	node := s.k.cfg.NodeName
	sum := sha256.Sum256(append([]byte(file+"\x00"+node+"\x00"), b...))
	hash := hex.EncodeToString(sum[:16])
	pod.UID = types.UID(hash)
	pod.Name = pod.Name + "-" + node
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	pod.Spec.NodeName = node
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[annConfigSource], pod.Annotations[annConfigHash] = "file", hash
	defaultPod(pod)
	return pod, nil
}

// defaultPod fills the defaults the API server would have for a pod from a file.
func defaultPod(pod *corev1.Pod) {
	if pod.Spec.RestartPolicy == "" {
		pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if pod.Spec.DNSPolicy == "" {
		pod.Spec.DNSPolicy = corev1.DNSClusterFirst
	}
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].TerminationMessagePath == "" {
				list[i].TerminationMessagePath = corev1.TerminationMessagePathDefault
			}
		}
	}
}

// mirrorOf is the pod's mirror in the API server when it is current.
func (s *staticPods) mirrorOf(pod *corev1.Pod) *corev1.Pod {
	m, err := s.k.pods.Pods(pod.Namespace).Get(pod.Name)
	if err != nil || m.Annotations[annConfigMirror] != pod.Annotations[annConfigHash] || m.DeletionTimestamp != nil {
		return nil
	}
	return m
}

// ensureMirror creates the mirror pod, replacing an outdated one.
func (s *staticPods) ensureMirror(ctx context.Context, pod *corev1.Pod) {
	if s.mirrorOf(pod) != nil {
		return
	}
	s.deleteMirror(ctx, pod)
	m := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels,
		Annotations: map[string]string{}}, Spec: pod.Spec}
	for key, v := range pod.Annotations {
		m.Annotations[key] = v
	}
	m.Annotations[annConfigMirror] = pod.Annotations[annConfigHash]
	node, err := s.k.client.CoreV1().Nodes().Get(ctx, s.k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return // not registered yet: the next scan creates the mirror
	}
	ctrl := true
	m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &ctrl}}
	if _, err := s.k.client.CoreV1().Pods(pod.Namespace).Create(ctx, m, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		s.k.log.Warn("create mirror pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

func (s *staticPods) deleteMirror(ctx context.Context, pod *corev1.Pod) {
	m, err := s.k.pods.Pods(pod.Namespace).Get(pod.Name)
	if err != nil || !isMirror(m) {
		return
	}
	zero := int64(0)
	_ = s.k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
		Preconditions: &metav1.Preconditions{UID: &m.UID}})
}

// known reports whether uid is one of the static pods.
func (s *staticPods) known(uid types.UID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.pods[uid]
	return ok
}
