#!/usr/bin/env bash
# Prepares .gpu/ at the repository root (ignored by git) for a run on a GPU machine that has no Java and no network:
#   .gpu/jre.tar.xz          a jlink'd Java 25 runtime (made once)
#   .gpu/tessera.jar         the launcher jar, CUDA library inside, without other platforms' native libraries
#   .gpu/worker-tests.jar    the worker's test classes, and .gpu/junit-console.jar to run the gpu-tagged ones
#   .gpu/gpt-oss-tiny/       the checkpoint with transformers' golden outputs that verify checks against
# Then run deploy/scripts/gpu/checks.sh there. Needs JDK 25, Maven and nvcc here.
# Usage: deploy/scripts/gpu/bundle.sh FIXTURE_DIR   (the gpt-oss-tiny checkpoint directory)
set -euo pipefail
fixture="${1:?usage: bundle.sh FIXTURE_DIR (the gpt-oss-tiny checkpoint with golden.safetensors)}"
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
command -v nvcc >/dev/null || { echo "bundle: nvcc is not on the PATH, so the jar would carry no CUDA library" >&2; exit 1; }
mkdir -p .git/info .gpu
grep -qxF '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude

mvn -B -ntp -q package -DskipTests
(cd worker/target/test-classes && "$JAVA_HOME/bin/jar" --create --file "$root/.gpu/worker-tests.jar" .)
mvn -B -ntp -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4 \
  -DoutputDirectory=.gpu -Dmdep.stripVersion=true
mv .gpu/junit-platform-console-standalone.jar .gpu/junit-console.jar

# NOTE: the launcher jar carries gRPC's TLS natives for every platform; the GPU machine is linux-x86_64, and what a
# run may carry is limited, so the others are left out.
cp deploy/target/tessera.jar .gpu/tessera.jar
zip -q -d .gpu/tessera.jar 'META-INF/native/*windows*' 'META-INF/native/*osx*' 'META-INF/native/*aarch_64*' \
  'META-INF/native/*ppcle*' 'META-INF/native/*s390*' >/dev/null || true
unzip -l .gpu/tessera.jar native/linux-x86_64/libtessera_cuda.so >/dev/null \
  || { echo "bundle: the jar holds no CUDA library" >&2; exit 1; }

rm -rf .gpu/gpt-oss-tiny && cp -r "$fixture" .gpu/gpt-oss-tiny

if [ ! -f .gpu/jre.tar.xz ]; then
  tmp="$(mktemp -d)"
  "$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,java.naming,java.net.http,java.security.jgss,java.security.sasl,java.sql,java.xml,jdk.crypto.ec,jdk.httpserver,jdk.incubator.vector,jdk.jfr,jdk.management,jdk.unsupported \
    --strip-debug --no-header-files --no-man-pages --output "$tmp/jre"
  tar -C "$tmp" -cJf .gpu/jre.tar.xz jre
  rm -rf "$tmp"
fi
du -sh .gpu/* && echo "bundle: .gpu is $(du -sm .gpu | cut -f1) MiB"
