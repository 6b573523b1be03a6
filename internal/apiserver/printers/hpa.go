package printers

import (
	"fmt"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func horizontalPodAutoscalerPrinter() Printer {
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()
	return Printer{
		Columns: cols(nameColumn(),
			str("Reference", spec["scaleTargetRef"]),
			str("Targets", spec["metrics"]),
			str("MinPods", spec["minReplicas"]),
			str("MaxPods", spec["maxReplicas"]),
			str("Replicas", autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]),
			ageColumn()),
		Cells: hpaCells,
	}
}

// hpaCells prints an autoscaling/v2 HorizontalPodAutoscaler, or an autoscaling/v1 one
// seen as v2.
func hpaCells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	if v1, ok := obj.(*autoscalingv1.HorizontalPodAutoscaler); ok {
		obj = hpaV2(v1)
	}
	return simpleCells(hpaV2Cells)(obj, now)
}

func hpaV2Cells(hpa *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []interface{} {
	minPods := unset
	if hpa.Spec.MinReplicas != nil {
		minPods = fmt.Sprint(*hpa.Spec.MinReplicas)
	}
	ref := hpa.Spec.ScaleTargetRef.Kind + "/" + hpa.Spec.ScaleTargetRef.Name
	return []interface{}{hpa.Name, ref, hpaMetrics(hpa.Spec.Metrics, hpa.Status.CurrentMetrics), minPods,
		int64(hpa.Spec.MaxReplicas), int64(hpa.Status.CurrentReplicas), age(hpa.CreationTimestamp, now)}
}

// hpaMetrics renders up to two "current/target" pairs and how many more metrics there are.
func hpaMetrics(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	const max = 2
	if len(specs) == 0 {
		return none
	}
	list := make([]string, 0, len(specs))
	for i, spec := range specs {
		var status *autoscalingv2.MetricStatus
		if i < len(statuses) {
			status = &statuses[i]
		}
		list = append(list, hpaMetric(spec, status))
	}
	if len(list) > max {
		return fmt.Sprintf("%s + %d more...", joinComma(list[:max]), len(list)-max)
	}
	return joinComma(list)
}

// hpaMetric renders one metric against its status (nil when the HPA has not measured it).
func hpaMetric(spec autoscalingv2.MetricSpec, status *autoscalingv2.MetricStatus) string {
	if !metricSourceSet(spec) {
		return "<unknown type>"
	}
	switch spec.Type {
	case autoscalingv2.ExternalMetricSourceType:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.External != nil {
			current = &status.External.Current
		}
		return valueMetric(spec.External.Target, current)
	case autoscalingv2.PodsMetricSourceType:
		cur := unknown
		if status != nil && status.Pods != nil {
			cur = status.Pods.Current.AverageValue.String()
		}
		return cur + "/" + spec.Pods.Target.AverageValue.String()
	case autoscalingv2.ObjectMetricSourceType:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.Object != nil {
			current = &status.Object.Current
		}
		return valueMetric(spec.Object.Target, current)
	case autoscalingv2.ResourceMetricSourceType:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.Resource != nil {
			current = &status.Resource.Current
		}
		return resourceMetric(spec.Resource.Name, spec.Resource.Target, current)
	case autoscalingv2.ContainerResourceMetricSourceType:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.ContainerResource != nil {
			current = &status.ContainerResource.Current
		}
		return resourceMetric(spec.ContainerResource.Name, spec.ContainerResource.Target, current)
	}
	return "<unknown type>"
}

// metricSourceSet tells whether the source that spec.Type names is there, so that a
// malformed object prints rather than crashes the server.
func metricSourceSet(spec autoscalingv2.MetricSpec) bool {
	switch spec.Type {
	case autoscalingv2.ExternalMetricSourceType:
		return spec.External != nil
	case autoscalingv2.PodsMetricSourceType:
		return spec.Pods != nil
	case autoscalingv2.ObjectMetricSourceType:
		return spec.Object != nil
	case autoscalingv2.ResourceMetricSourceType:
		return spec.Resource != nil
	case autoscalingv2.ContainerResourceMetricSourceType:
		return spec.ContainerResource != nil
	}
	return false
}

// valueMetric renders an object or external metric: "current/target (avg)" against an
// average value, else "current/target".
func valueMetric(target autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	cur := unknown
	if target.AverageValue != nil {
		if current != nil && current.AverageValue != nil {
			cur = current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s (avg)", cur, target.AverageValue.String())
	}
	if current != nil {
		cur = current.Value.String()
	}
	return cur + "/" + target.Value.String()
}

// resourceMetric renders "cpu: current/target", as average values or utilization percentages.
func resourceMetric(name corev1.ResourceName, target autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	cur := unknown
	if target.AverageValue != nil {
		if current != nil {
			cur = current.AverageValue.String()
		}
		return fmt.Sprintf("%s: %s/%s", name, cur, target.AverageValue.String())
	}
	if current != nil && current.AverageUtilization != nil {
		cur = fmt.Sprintf("%d%%", *current.AverageUtilization)
	}
	want := "<auto>"
	if target.AverageUtilization != nil {
		want = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, cur, want)
}

// hpaV2 sees an autoscaling/v1 HPA as v2: its CPU utilization target becomes a resource metric.
func hpaV2(v1 *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: v1.ObjectMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: v1.Spec.ScaleTargetRef.Kind, Name: v1.Spec.ScaleTargetRef.Name, APIVersion: v1.Spec.ScaleTargetRef.APIVersion},
			MinReplicas:    v1.Spec.MinReplicas,
			MaxReplicas:    v1.Spec.MaxReplicas,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: v1.Status.CurrentReplicas},
	}
	if v1.Spec.TargetCPUUtilizationPercentage == nil {
		return hpa
	}
	hpa.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: v1.Spec.TargetCPUUtilizationPercentage},
	}}}
	if v1.Status.CurrentCPUUtilizationPercentage != nil {
		hpa.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: v1.Status.CurrentCPUUtilizationPercentage},
		}}}
	}
	return hpa
}
