# The libFuzzer harness, built with clang apart from the autotools build:
# the library's sources (the list in ../Makefile.am) and the harness,
# all instrumented.  scripts/fuzz runs `make -C fuzz -f fuzz.mk`; outputs go
# to build/.  (Not "Makefile": .gitignore ignores those, autotools output.)
# Needs a configured tree (../config.h) and libdw's headers.
CC = clang
TOP = ..
B = build
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS = -g -O1 -fno-omit-frame-pointer -Wall -Wno-unused-parameter $(SAN)
# Comparisons are against the seed's memory, not the input's bytes: tracing
# them (for libFuzzer's value profile and dictionary) only costs time.
COV = -fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp
CPPFLAGS = -I$(TOP) -I$(TOP)/include -I. $(shell pkg-config --cflags libdw libunwind-ptrace)
LIBS = $(shell pkg-config --libs libdw libunwind-ptrace libunwind-generic)

LIB_SRC := $(shell sed -n '/^src_libleaktop_a_SOURCES/,/^$$/p' $(TOP)/Makefile.am | \
	     tr ' \\\t' '\n\n\n' | grep '^src/.*\.c$$')
LIB_OBJ := $(patsubst src/%.c,$(B)/obj/%.o,$(LIB_SRC))
HARNESSES := $(B)/fuzz_walk $(B)/fuzz_open

all: $(HARNESSES)

$(B)/fuzz_%: $(LIB_OBJ) $(B)/obj/fuzz_%.o
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

# Coverage instrumentation everywhere; libFuzzer's main only at the link.
$(B)/obj/%.o: $(TOP)/src/%.c | $(B)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) $(COV) -MMD -MP -c -o $@ $<

$(B)/obj/%.o: %.c | $(B)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) $(COV) -MMD -MP -c -o $@ $<

$(B)/obj:
	mkdir -p $@

clean:
	rm -rf $(B)/obj $(HARNESSES)

.PHONY: all clean
-include $(wildcard $(B)/obj/*.d)
