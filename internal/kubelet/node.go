package kubelet

import (
	"context"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// KubeletPort is the port of the kubelet API advertised in daemonEndpoints.
const KubeletPort = 10250

// runNode registers the Node, then renews its Lease every LeaseRenew and
// posts its status when it changes and at least every StatusPeriod.
func (k *Kubelet) runNode(ctx context.Context) {
	for ctx.Err() == nil {
		if err := k.registerNode(ctx); err == nil {
			break
		} else {
			k.log.Warn("register node", "err", err)
		}
		sleep(ctx, time.Second)
	}
	var lastPosted time.Time
	var last corev1.NodeStatus
	t := time.NewTicker(k.cfg.LeaseRenew)
	defer t.Stop()
	for {
		if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
			k.log.Warn("renew lease", "err", err)
		}
		st := k.nodeStatus(ctx)
		if time.Since(lastPosted) >= k.cfg.StatusPeriod || !statusEqual(last, st) {
			if err := k.postNodeStatus(ctx, st); err != nil {
				if ctx.Err() == nil {
					k.log.Warn("post node status", "err", err)
				}
			} else {
				lastPosted, last = time.Now(), st
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// statusEqual compares statuses ignoring heartbeat times.
func statusEqual(a, b corev1.NodeStatus) bool {
	a, b = *a.DeepCopy(), *b.DeepCopy()
	for _, s := range []*corev1.NodeStatus{&a, &b} {
		for i := range s.Conditions {
			s.Conditions[i].LastHeartbeatTime = metav1.Time{}
			s.Conditions[i].LastTransitionTime = metav1.Time{}
		}
	}
	return apiequality.Semantic.DeepEqual(a, b)
}

// registerNode creates the Node, or updates the labels of an existing one.
func (k *Kubelet) registerNode(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Labels: k.nodeLabels()}}
	_, err := k.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err == nil {
		k.log.Info("node registered")
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	old, err := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	changed := false
	for key, v := range node.Labels {
		if old.Labels[key] != v {
			if old.Labels == nil {
				old.Labels = map[string]string{}
			}
			old.Labels[key], changed = v, true
		}
	}
	if changed {
		_, err = k.client.CoreV1().Nodes().Update(ctx, old, metav1.UpdateOptions{})
	}
	return err
}

func (k *Kubelet) nodeLabels() map[string]string {
	l := map[string]string{
		corev1.LabelHostname: k.cfg.NodeName, corev1.LabelOSStable: runtime.GOOS, corev1.LabelArchStable: runtime.GOARCH,
		"beta.kubernetes.io/os": runtime.GOOS, "beta.kubernetes.io/arch": runtime.GOARCH,
	}
	for key, v := range k.cfg.Labels {
		l[key] = v
	}
	return l
}

// nodeStatus builds the status from the machine and the runtime.
func (k *Kubelet) nodeStatus(ctx context.Context) corev1.NodeStatus {
	capacity := machineCapacity(k.cfg.RootDir, k.cfg.MaxPods)
	alloc := capacity.DeepCopy()
	for name, q := range k.cfg.SystemReserved {
		if c, ok := alloc[name]; ok {
			c.Sub(q)
			if c.Sign() < 0 {
				c = resource.MustParse("0")
			}
			alloc[name] = c
		}
	}
	hostname, _ := os.Hostname()
	st := corev1.NodeStatus{
		Capacity: capacity, Allocatable: alloc,
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: k.nodeIP},
			{Type: corev1.NodeHostName, Address: hostname}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: k.port()}},
		NodeInfo:        k.nodeInfo(ctx),
		Conditions:      k.nodeConditions(ctx),
	}
	return st
}

func (k *Kubelet) nodeInfo(ctx context.Context) corev1.NodeSystemInfo {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	rtVersion := "unknown"
	if v, err := k.runtime.Version(ctx, &runtimeapi.VersionRequest{}); err == nil {
		rtVersion = v.RuntimeName + "://" + v.RuntimeVersion
	}
	return corev1.NodeSystemInfo{
		MachineID: readTrim("/etc/machine-id"), SystemUUID: readTrim("/sys/class/dmi/id/product_uuid"),
		BootID: readTrim("/proc/sys/kernel/random/boot_id"), KernelVersion: unix.ByteSliceToString(uts.Release[:]),
		OSImage: osImage(), ContainerRuntimeVersion: rtVersion, KubeletVersion: Version,
		OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH,
	}
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

func osImage() string {
	b, _ := os.ReadFile("/etc/os-release")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// machineCapacity reads cpu, memory and the root dir's filesystem size.
func machineCapacity(rootDir string, maxPods int) corev1.ResourceList {
	rl := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memTotal(), resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(int64(maxPods), resource.DecimalSI),
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(existingParent(rootDir), &fs); err == nil {
		rl[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(int64(fs.Blocks)*fs.Bsize, resource.BinarySI)
	}
	return rl
}

func existingParent(dir string) string {
	for dir != "/" && dir != "." {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		dir = dirOf(dir)
	}
	return "/"
}

func dirOf(p string) string {
	if i := strings.LastIndex(strings.TrimSuffix(p, "/"), "/"); i > 0 {
		return p[:i]
	}
	return "/"
}

func memTotal() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

// nodeConditions reports Ready from the runtime's status and the pressure
// conditions from the machine.
func (k *Kubelet) nodeConditions(ctx context.Context) []corev1.NodeCondition {
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
		Reason: "KubeletReady", Message: "kubelet is posting ready status"}
	if _, err := k.runtime.Status(ctx, &runtimeapi.StatusRequest{}); err != nil {
		ready = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse,
			Reason: "KubeletNotReady", Message: "container runtime is down: " + err.Error()}
	}
	now, tp := time.Now(), k.cfg.EvictionPressureTransitionPeriod
	cond := func(t corev1.NodeConditionType, reasonOK, msgOK, reasonBad, msgBad string) corev1.NodeCondition {
		if k.pressure.under(t, now, tp) {
			return corev1.NodeCondition{Type: t, Status: corev1.ConditionTrue, Reason: reasonBad, Message: msgBad}
		}
		return corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: reasonOK, Message: msgOK}
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
			"KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
		cond(corev1.NodeDiskPressure, "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
			"KubeletHasDiskPressure", "kubelet has disk pressure"),
		cond(corev1.NodePIDPressure, "KubeletHasSufficientPID", "kubelet has sufficient PID available",
			"KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
		ready,
	}
}

// postNodeStatus writes st, keeping condition transition times that did not change.
func (k *Kubelet) postNodeStatus(ctx context.Context, st corev1.NodeStatus) error {
	node, err := k.beat.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	for i := range st.Conditions {
		c := &st.Conditions[i]
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		for _, old := range node.Status.Conditions {
			if old.Type == c.Type && old.Status == c.Status && !old.LastTransitionTime.IsZero() {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	st.Images, st.VolumesInUse, st.VolumesAttached = node.Status.Images, node.Status.VolumesInUse, node.Status.VolumesAttached
	node.Status = st
	_, err = k.beat.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// renewLease creates or renews kube-node-lease/<node>.
func (k *Kubelet) renewLease(ctx context.Context) error {
	leases := k.beat.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	dur := int32(4 * k.cfg.LeaseRenew / time.Second)
	lease, err := leases.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Namespace: corev1.NamespaceNodeLease},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &k.cfg.NodeName, LeaseDurationSeconds: &dur, RenewTime: &now}}
		if node, err := k.beat.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{}); err == nil {
			lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &k.cfg.NodeName, &dur, &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// DefaultNodeIP is the node IP a kubelet without Config.NodeIP reports.
func DefaultNodeIP() string { return defaultNodeIP() }

// defaultNodeIP is the address of the interface holding the default route,
// or the first non-loopback IPv4 address.
func defaultNodeIP() string {
	if c, err := net.Dial("udp4", "192.0.2.1:9"); err == nil {
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).IP.String()
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	return "127.0.0.1"
}
