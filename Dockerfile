# Debian 12 with the packages tools/deps.sh names (the tests check this
# file against that list) and this tree, for working on
# macOS, Windows or any Linux that is not Debian 12. From the tree's top:
#
#   docker build --platform linux/amd64 -t keos-kev .
#   docker run --platform linux/amd64 --rm -it -v "$PWD":/keos-kev keos-kev make grade
#
# The second command mounts your tree over the image's copy, so your edits
# and build/ stay on your machine; any make target works in place of
# "make grade" (or none, for a shell). linux/amd64: the kernels are x86-64,
# so on an ARM machine (Apple silicon) Docker emulates it, slowly. This file
# is kept to that package list: the tests check it, but cannot build it.
FROM debian:12
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      gcc binutils make qemu-system-x86 check libsubunit-dev pkg-config \
      libzydis-dev clang libclang-rt-14-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /keos-kev
COPY . /keos-kev
CMD ["bash"]
