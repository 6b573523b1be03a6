// Package bench measures the API server against a baseline taken in the same run, as `go test
// -bench` benchmarks (see README.md here for how to run them and read the figures):
//
//   - ConfigMap and Pod creates/s through client-go (JSON and protobuf) vs raw etcd Txn creates
//     (CreateRevision == 0) of the same payload at the same concurrency,
//   - a LIST of 5,000 pods from the watch cache vs an etcd range read of the same keys,
//   - watch write-to-event latency with 100 client-go watchers and 16 writers vs a raw etcd watch
//     on the same writes,
//   - the RSS of a real `klite server` process, idle and with 15,000 objects stored.
//   - the RSS and PSS of a real `klite agent` process, idle and with 100 running pods, and of each
//     pod's pause process and shim, against issue 7's goals (it needs root).
//
// Every figure is reported with b.ReportMetric; ratios are klite against the baseline. Only
// Benchmark functions do heavy work: `go test` without -bench runs TestHarness, which runs each
// measurement once at tiny sizes.
package bench
