module github.com/conch/bench/porcupine

go 1.18

require github.com/anishathalye/porcupine v0.0.0

// Point this at your checkout of https://github.com/anishathalye/porcupine
// (see README.md): go mod edit -replace github.com/anishathalye/porcupine=/path/to/porcupine
replace github.com/anishathalye/porcupine => /tmp/porcupine-src
