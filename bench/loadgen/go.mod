module serac.dev/bench/loadgen

go 1.19
