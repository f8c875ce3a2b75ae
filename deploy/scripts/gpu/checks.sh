#!/usr/bin/env bash
# The CUDA backend's checks that need an NVIDIA GPU, run from the repository root on the GPU machine with .gpu/
# (deploy/scripts/gpu/bundle.sh) beside it. Each stage writes its log under OUT and they run in one call or several:
#   ops       the gpu-tagged op tests: every CudaBackend op against ScalarBackend on random inputs
#   verify    ./tessera verify --backend cuda --activations fp32 on gpt-oss-tiny (transformers' float32 goldens)
#   bench     bench engine --backend cuda for the gpt-oss-120b and gpt-oss-20b shapes, weights made on the device
#   baseline  transformers on the 20b shape (HF_BASELINE names its script), for the side-by-side figures
#   cluster   ZooKeeper, a coordinator and two CUDA workers, each half the layers of a 20b-shaped checkpoint,
#             serving streamed requests
# Usage: deploy/scripts/gpu/checks.sh OUT [ops] [verify] [bench] [baseline] [cluster]   (none: all)
set -uo pipefail
out="${1:?usage: checks.sh OUT [stage ...]}"; shift
stages=("$@"); [ ${#stages[@]} -eq 0 ] && stages=(ops verify bench baseline cluster)
mkdir -p "$out" /tmp/rt
[ -x /tmp/rt/jre/bin/java ] || tar -xJf .gpu/jre.tar.xz -C /tmp/rt
export JAVA_HOME=/tmp/rt/jre PATH=/tmp/rt/jre/bin:$PATH
jvm=(java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xss4m)
tessera() { "${jvm[@]}" -jar .gpu/tessera.jar "$@"; }
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
status=0
run() {  # run NAME COMMAND...: the command's output to OUT/NAME.txt, its status remembered
  local name="$1"; shift
  echo "== $name: $*"
  "$@" > "$out/$name.txt" 2>&1; local rc=$?
  echo "== $name: exit $rc"; tail -n 25 "$out/$name.txt"
  [ $rc -eq 0 ] || status=1
}

for stage in "${stages[@]}"; do
  case "$stage" in
    ops)
      run ops "${jvm[@]}" -jar .gpu/junit-console.jar execute --class-path .gpu/worker-tests.jar:.gpu/tessera.jar \
        --include-tag gpu --select-package dev.tessera.worker.backend.cuda --details tree --fail-if-no-tests ;;
    verify)
      run verify tessera verify --backend cuda --activations fp32 --model .gpu/gpt-oss-tiny ;;
    bench)
      run bench-120b tessera bench engine --backend cuda --preset gpt-oss-120b
      run bench-20b tessera bench engine --backend cuda --preset gpt-oss-20b ;;
    baseline)
      run baseline python3 "${HF_BASELINE:-.gpu/hf_baseline.py}" 24 32 ;;
    cluster)
      tessera checkpoint synth --preset gpt-oss-20b --out /tmp/gpt-oss-20b-synthetic > "$out/cluster-checkpoint.txt" 2>&1
      run cluster bash -c '
        set -u; jvm="'"${jvm[*]}"'"; t() { $jvm -jar .gpu/tessera.jar "$@"; }
        t zookeeper --port 2181 & zk=$!
        t coordinator --zookeeper 127.0.0.1:2181 --port 50051 --http-port 8000 & co=$!
        t worker --zookeeper 127.0.0.1:2181 --backend cuda --model /tmp/gpt-oss-20b-synthetic --layers 0:12 --port 50061 --gpu-memory-share 0.45 & w1=$!
        t worker --zookeeper 127.0.0.1:2181 --backend cuda --model /tmp/gpt-oss-20b-synthetic --layers 12:24 --port 50062 --gpu-memory-share 0.45 & w2=$!
        for i in $(seq 1 120); do t cluster status --zookeeper 127.0.0.1:2181 2>/dev/null | grep -q "replicas: 1" && break; sleep 2; done
        t cluster status --zookeeper 127.0.0.1:2181
        t generate --zookeeper 127.0.0.1:2181 --token-ids 200006,1428,200008 --temperature 0 --max-tokens 32
        t loadtest --zookeeper 127.0.0.1:2181 --concurrency 1,8 --warmup 5 --duration 20 --prompt-len 128 --output-len 64 --out '"$out"'/cluster-loadtest
        kill $w1 $w2; wait $w1 $w2; kill $co; wait $co; kill $zk; wait $zk' ;;
    *) echo "checks: unknown stage $stage" >&2; status=2 ;;
  esac
done
exit $status
