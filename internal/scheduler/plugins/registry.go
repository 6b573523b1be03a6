// Package plugins lists klite's in-tree scheduler plugins (one folder each) and the default
// profile that enables them in upstream's order with upstream's score weights.
package plugins

import (
	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins/balancedallocation"
	"github.com/klite/klite/internal/scheduler/plugins/defaultbinder"
	"github.com/klite/klite/internal/scheduler/plugins/defaultpreemption"
	"github.com/klite/klite/internal/scheduler/plugins/imagelocality"
	"github.com/klite/klite/internal/scheduler/plugins/interpodaffinity"
	"github.com/klite/klite/internal/scheduler/plugins/nodeaffinity"
	"github.com/klite/klite/internal/scheduler/plugins/nodename"
	"github.com/klite/klite/internal/scheduler/plugins/nodeports"
	"github.com/klite/klite/internal/scheduler/plugins/noderesourcesfit"
	"github.com/klite/klite/internal/scheduler/plugins/nodeunschedulable"
	"github.com/klite/klite/internal/scheduler/plugins/podtopologyspread"
	"github.com/klite/klite/internal/scheduler/plugins/tainttoleration"
	"github.com/klite/klite/internal/scheduler/plugins/volumebinding"
	"github.com/klite/klite/internal/scheduler/plugins/volumerestrictions"
)

// NewRegistry returns every in-tree plugin by name.
func NewRegistry() framework.Registry {
	return framework.Registry{
		nodeunschedulable.Name:  nodeunschedulable.New,
		nodename.Name:           nodename.New,
		tainttoleration.Name:    tainttoleration.New,
		nodeaffinity.Name:       nodeaffinity.New,
		nodeports.Name:          nodeports.New,
		noderesourcesfit.Name:   noderesourcesfit.New,
		volumerestrictions.Name: volumerestrictions.New,
		volumebinding.Name:      volumebinding.New,
		podtopologyspread.Name:  podtopologyspread.New,
		interpodaffinity.Name:   interpodaffinity.New,
		defaultpreemption.Name:  defaultpreemption.New,
		balancedallocation.Name: balancedallocation.New,
		imagelocality.Name:      imagelocality.New,
		defaultbinder.Name:      defaultbinder.New,
	}
}

// DefaultPlugins are the default profile's plugins in upstream's order and weights.
func DefaultPlugins() []framework.PluginSpec {
	return []framework.PluginSpec{
		{Name: nodeunschedulable.Name},
		{Name: nodename.Name},
		{Name: tainttoleration.Name, Weight: 3},
		{Name: nodeaffinity.Name, Weight: 2},
		{Name: nodeports.Name},
		{Name: noderesourcesfit.Name, Weight: 1},
		{Name: volumerestrictions.Name},
		{Name: volumebinding.Name},
		{Name: podtopologyspread.Name, Weight: 2},
		{Name: interpodaffinity.Name, Weight: 2},
		{Name: defaultpreemption.Name},
		{Name: balancedallocation.Name, Weight: 1},
		{Name: imagelocality.Name, Weight: 1},
		{Name: defaultbinder.Name},
	}
}

// DefaultProfile is the default profile serving schedulerName.
func DefaultProfile(schedulerName string) framework.Profile {
	return framework.Profile{SchedulerName: schedulerName, Plugins: DefaultPlugins()}
}
