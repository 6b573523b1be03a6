package kubelet

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sandboxConfig is the CRI sandbox of a pod.
func (k *Kubelet) sandboxConfig(pod *corev1.Pod, attempt uint32) *runtimeapi.PodSandboxConfig {
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	labels := map[string]string{labelPodName: pod.Name, labelPodNamespace: pod.Namespace, labelPodUID: string(pod.UID)}
	for key, v := range pod.Labels {
		if _, ok := labels[key]; !ok {
			labels[key] = v
		}
	}
	ns := &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER}
	if pod.Spec.HostNetwork {
		ns.Network = runtimeapi.NamespaceMode_NODE
	}
	if pod.Spec.HostIPC {
		ns.Ipc = runtimeapi.NamespaceMode_NODE
	}
	if pod.Spec.HostPID {
		ns.Pid = runtimeapi.NamespaceMode_NODE
	} else if pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace {
		ns.Pid = runtimeapi.NamespaceMode_POD
	}
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: pod.Name, Namespace: pod.Namespace, Uid: string(pod.UID), Attempt: attempt},
		Hostname: hostname, LogDirectory: k.podLogDir(pod), DnsConfig: k.dnsConfig(pod),
		Labels: labels, Annotations: pod.Annotations, PortMappings: portMappings(pod),
		Linux: &runtimeapi.LinuxPodSandboxConfig{CgroupParent: strings.ToLower(string(qosClass(pod))),
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: ns}},
	}
}

// portMappings are the pod's container ports, as upstream passes them: the
// runtime publishes those with a hostPort on the node.
func portMappings(pod *corev1.Pod) []*runtimeapi.PortMapping {
	var out []*runtimeapi.PortMapping
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			proto := runtimeapi.Protocol_TCP
			switch p.Protocol {
			case corev1.ProtocolUDP:
				proto = runtimeapi.Protocol_UDP
			case corev1.ProtocolSCTP:
				proto = runtimeapi.Protocol_SCTP
			}
			out = append(out, &runtimeapi.PortMapping{Protocol: proto, ContainerPort: p.ContainerPort, HostPort: p.HostPort, HostIp: p.HostIP})
		}
	}
	return out
}

// podLogDir is <root>/logs/<namespace>_<name>_<uid>, as /var/log/pods upstream.
func (k *Kubelet) podLogDir(pod *corev1.Pod) string {
	return filepath.Join(k.cfg.RootDir, "logs", pod.Namespace+"_"+pod.Name+"_"+string(pod.UID))
}

// dnsConfig is nil (the node's resolv.conf) unless the pod uses cluster DNS.
func (k *Kubelet) dnsConfig(pod *corev1.Pod) *runtimeapi.DNSConfig {
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	var cfg *runtimeapi.DNSConfig
	clusterFirst := policy == corev1.DNSClusterFirst || (policy == corev1.DNSClusterFirstWithHostNet && pod.Spec.HostNetwork)
	if clusterFirst && !pod.Spec.HostNetwork && len(k.cfg.ClusterDNS) > 0 || policy == corev1.DNSClusterFirstWithHostNet && len(k.cfg.ClusterDNS) > 0 {
		d := k.cfg.ClusterDomain
		cfg = &runtimeapi.DNSConfig{Servers: k.cfg.ClusterDNS,
			Searches: []string{pod.Namespace + ".svc." + d, "svc." + d, d}, Options: []string{"ndots:5"}}
	}
	if policy == corev1.DNSNone {
		cfg = &runtimeapi.DNSConfig{}
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		if cfg == nil {
			cfg = &runtimeapi.DNSConfig{}
		}
		cfg.Servers = append(cfg.Servers, dc.Nameservers...)
		cfg.Searches = append(cfg.Searches, dc.Searches...)
		for _, o := range dc.Options {
			if o.Value != nil {
				cfg.Options = append(cfg.Options, o.Name+":"+*o.Value)
			} else {
				cfg.Options = append(cfg.Options, o.Name)
			}
		}
	}
	return cfg
}

// createContainer builds the CRI config of c and creates it in the pod's sandbox.
func (w *podWorker) createContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rp *runtimePod, imageRef string, attempt uint32) (string, error) {
	k := w.k
	podIP := ""
	if rp.sandbox.GetNetwork() != nil {
		podIP = rp.sandbox.Network.Ip
	}
	env, err := k.containerEnv(ctx, pod, c, podIP)
	if err != nil {
		return "", err
	}
	mounts, err := k.containerMounts(pod, c)
	if err != nil {
		return "", err
	}
	vars := envMap(env)
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: attempt},
		Image:    &runtimeapi.ImageSpec{Image: imageRef, UserSpecifiedImage: c.Image},
		Command:  expandAll(c.Command, vars), Args: expandAll(c.Args, vars), WorkingDir: c.WorkingDir,
		Envs: env, Mounts: mounts, LogPath: filepath.Join(c.Name, strconv.Itoa(int(attempt))+".log"),
		Stdin: c.Stdin, StdinOnce: c.StdinOnce, Tty: c.TTY,
		Labels: map[string]string{labelPodName: pod.Name, labelPodNamespace: pod.Namespace,
			labelPodUID: string(pod.UID), labelContainerName: c.Name},
		Annotations: map[string]string{"io.kubernetes.container.restartCount": strconv.Itoa(int(attempt))},
		Linux:       &runtimeapi.LinuxContainerConfig{Resources: k.containerResources(pod, c), SecurityContext: securityContext(pod, c)},
	}
	resp, err := k.runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: rp.sandbox.Id, Config: cfg, SandboxConfig: k.sandboxConfig(pod, rp.sandbox.Metadata.GetAttempt())})
	if err != nil {
		return "", err
	}
	return resp.ContainerId, nil
}

// containerResources maps requests and limits to cgroup settings.
func (k *Kubelet) containerResources(pod *corev1.Pod, c *corev1.Container) *runtimeapi.LinuxContainerResources {
	r := &runtimeapi.LinuxContainerResources{CpuShares: 2}
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		r.CpuShares = max(2, q.MilliValue()*1024/1000)
	} else if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		r.CpuShares = max(2, q.MilliValue()*1024/1000)
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		r.CpuPeriod = 100000
		r.CpuQuota = max(1000, q.MilliValue()*100000/1000)
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		r.MemoryLimitInBytes = q.Value()
	}
	switch qosClass(pod) {
	case corev1.PodQOSGuaranteed:
		r.OomScoreAdj = -997
	case corev1.PodQOSBestEffort:
		r.OomScoreAdj = 1000
	default:
		r.OomScoreAdj = 1000
		if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
			if total := memTotal(); total > 0 {
				r.OomScoreAdj = min(999, max(3, 1000-1000*q.Value()/total))
			}
		}
	}
	return r
}

// securityContext maps the pod's and the container's security settings.
func securityContext(pod *corev1.Pod, c *corev1.Container) *runtimeapi.LinuxContainerSecurityContext {
	sc := &runtimeapi.LinuxContainerSecurityContext{}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			sc.RunAsUser = &runtimeapi.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			sc.RunAsGroup = &runtimeapi.Int64Value{Value: *psc.RunAsGroup}
		}
		sc.SupplementalGroups = psc.SupplementalGroups
		if psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault {
			sc.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
		}
	}
	csc := c.SecurityContext
	if csc == nil {
		return sc
	}
	if csc.RunAsUser != nil {
		sc.RunAsUser = &runtimeapi.Int64Value{Value: *csc.RunAsUser}
	}
	if csc.RunAsGroup != nil {
		sc.RunAsGroup = &runtimeapi.Int64Value{Value: *csc.RunAsGroup}
	}
	sc.Privileged = csc.Privileged != nil && *csc.Privileged
	// no_new_privs only when escalation is refused outright, as upstream
	sc.NoNewPrivs = csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation
	sc.ReadonlyRootfs = csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem
	if caps := csc.Capabilities; caps != nil {
		sc.Capabilities = &runtimeapi.Capability{}
		for _, c := range caps.Add {
			sc.Capabilities.AddCapabilities = append(sc.Capabilities.AddCapabilities, string(c))
		}
		for _, c := range caps.Drop {
			sc.Capabilities.DropCapabilities = append(sc.Capabilities.DropCapabilities, string(c))
		}
	}
	if csc.SeccompProfile != nil && csc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault {
		sc.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	}
	return sc
}

// pullImage honours imagePullPolicy and returns the image reference to run.
// Failures set ErrImagePull, then ImagePullBackOff until the back-off passes.
func (w *podWorker) pullImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (string, error) {
	k := w.k
	ref := containerRef(pod, c.Name)
	spec := &runtimeapi.ImageSpec{Image: c.Image}
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = corev1.PullIfNotPresent
		if !strings.Contains(c.Image[strings.LastIndex(c.Image, "/")+1:], ":") || strings.HasSuffix(c.Image, ":latest") {
			policy = corev1.PullAlways
		}
	}
	if policy != corev1.PullAlways {
		st, err := k.images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec})
		if err == nil && st.Image != nil {
			k.recorder.Eventf(ref, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
			return st.Image.Id, nil
		}
		if policy == corev1.PullNever {
			w.waiting[c.Name] = waitReason{"ErrImageNeverPull", fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)}
			return "", fmt.Errorf("image %s not present", c.Image)
		}
	}
	if until, ok := w.imgBackoff[c.Name]; ok && time.Now().Before(until) {
		w.waiting[c.Name] = waitReason{"ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", c.Image)}
		return "", fmt.Errorf("image pull back-off")
	}
	k.recorder.Eventf(ref, corev1.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
	start := time.Now()
	resp, err := k.images.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec, Auth: k.pullAuth(pod, c.Image)})
	if err != nil {
		w.waiting[c.Name] = waitReason{"ErrImagePull", err.Error()}
		d := min(max(2*w.imgDelay[c.Name], k.cfg.BackoffInitial), k.cfg.BackoffMax)
		w.imgDelay[c.Name], w.imgBackoff[c.Name] = d, time.Now().Add(d)
		k.recorder.Eventf(ref, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", c.Image, err)
		return "", err
	}
	delete(w.imgBackoff, c.Name)
	delete(w.imgDelay, c.Name)
	k.recorder.Eventf(ref, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %s", c.Image, time.Since(start).Round(time.Millisecond))
	return resp.ImageRef, nil
}

// pullAuth finds credentials for image's registry in the pod's imagePullSecrets.
func (k *Kubelet) pullAuth(pod *corev1.Pod, image string) *runtimeapi.AuthConfig {
	host := "docker.io"
	if i := strings.Index(image, "/"); i > 0 && strings.ContainsAny(image[:i], ".:") {
		host = image[:i]
	}
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := k.secrets.Secrets(pod.Namespace).Get(ref.Name)
		if err != nil {
			continue
		}
		var cfg struct {
			Auths map[string]struct{ Username, Password, Auth string } `json:"auths"`
		}
		if json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) != nil {
			continue
		}
		for reg, a := range cfg.Auths {
			if strings.TrimPrefix(strings.TrimPrefix(reg, "https://"), "http://") != host {
				continue
			}
			if a.Auth != "" {
				if b, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					a.Username, a.Password, _ = strings.Cut(string(b), ":")
				}
			}
			return &runtimeapi.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: host}
		}
	}
	return nil
}

// runHook runs a postStart or preStop handler; it reports success.
func (k *Kubelet) runHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, h *corev1.LifecycleHandler, failReason string) bool {
	var err error
	switch {
	case h.Exec != nil:
		var resp *runtimeapi.ExecSyncResponse
		resp, err = k.runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: h.Exec.Command, Timeout: 30})
		if err == nil && resp.ExitCode != 0 {
			err = fmt.Errorf("command %q exited with %d: %s", h.Exec.Command, resp.ExitCode, resp.Stderr)
		}
	case h.HTTPGet != nil:
		_, err = k.httpProbe(ctx, pod, c, h.HTTPGet, 10*time.Second)
	case h.Sleep != nil:
		sleep(ctx, time.Duration(h.Sleep.Seconds)*time.Second)
	}
	if err != nil {
		k.recorder.Eventf(containerRef(pod, c.Name), corev1.EventTypeWarning, failReason, "%v", err)
		return false
	}
	return true
}

// qosClass is the pod's QoS class from its containers' requests and limits.
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	return computeQOS(pod)
}

func computeQOS(pod *corev1.Pod) corev1.PodQOSClass {
	any, guaranteed := false, true
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if hasReq && !req.IsZero() || hasLim && !lim.IsZero() {
				any = true
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	default:
		return corev1.PodQOSBurstable
	}
}
