# The host build of the C core (docs/firmware-host.md): the core behind a pty or TCP in real
# time, like `python -m simulator`. Included by firmware/Makefile (`include host.mk`); uses its
# STRICT, BUILD and CORE variables when they are set.
#
#   make host            build/ea-host with gcc and clang (strict C99 flags, warnings are errors)
#   make host-sanitize   build/ea-host.sanitize under -fsanitize=address,undefined (gcc)
#
# EA_CORE_SRC: where the core's sources are (default src, this tree's; during development
# another tree's, e.g. EA_CORE_SRC=/work/wt/fwcore/firmware/src).

EA_CORE_SRC ?= src
STRICT ?= -std=c99 -Wall -Wextra -Werror -pedantic -Wshadow -Wconversion -Wsign-conversion
BUILD ?= build
HOST_CC ?= gcc clang
HOST_CORE := $(wildcard $(EA_CORE_SRC)/*.c)
HOST_SRC := $(wildcard host/*.c)
HOST_HEADERS := $(wildcard host/*.h) $(wildcard $(EA_CORE_SRC)/*.h)
HOST_FLAGS := $(STRICT) -I$(EA_CORE_SRC) -Ihost

.PHONY: host host-sanitize

host: $(addprefix $(BUILD)/ea-host.,$(HOST_CC))
	cp $(BUILD)/ea-host.$(firstword $(HOST_CC)) $(BUILD)/ea-host
	@echo "host: $(BUILD)/ea-host (built by $(HOST_CC))"

$(BUILD)/ea-host.%: $(HOST_CORE) $(HOST_SRC) $(HOST_HEADERS)
	mkdir -p $(BUILD)
	$* $(HOST_FLAGS) -O2 $(HOST_CORE) $(HOST_SRC) -o $@

host-sanitize: $(HOST_CORE) $(HOST_SRC) $(HOST_HEADERS)
	mkdir -p $(BUILD)
	gcc $(HOST_FLAGS) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer $(HOST_CORE) $(HOST_SRC) -o $(BUILD)/ea-host.sanitize
	@echo "host-sanitize: $(BUILD)/ea-host.sanitize"
