//go:build race

package sim_test

// raceEnabled: the race detector slows the in-process API server several times over.
const raceEnabled = true
