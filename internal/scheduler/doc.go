// Package scheduler is klite's pod scheduler: it watches pending pods whose spec.schedulerName
// is one of its profiles', picks a node for each with the plugin framework, and binds through
// pods/binding.
//
// One scheduling cycle (scheduleOne), synchronous and deterministic for a given snapshot:
//
//	queue.Pop ─▶ cache.Snapshot ─▶ PreFilter ─▶ Filter (nodes in parallel, from a rotating start,
//	   stopping once enough feasible nodes are found: percentageOfNodesToScore)
//	   ├─ none feasible ─▶ PostFilter (preemption) ─▶ FailedScheduling event,
//	   │                   PodScheduled=False/Unschedulable, back to the queue
//	   └─ feasible ─▶ PreScore ─▶ Score (normalised, weighted) ─▶ best node, ties round-robin
//	                ─▶ assume in cache ─▶ Reserve ─▶ (goroutine) PreBind ─▶ Bind ─▶ Scheduled event
//
// The cache counts an assumed pod on its node at once, so the next cycle sees it before the
// API server echoes the binding. Pods nominated to a node by preemption are counted there when
// filtering pods of no higher priority (the nominator), so the room freed stays theirs. Every decision is kept for `klite scheduler explain`.
package scheduler
