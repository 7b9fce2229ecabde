# Builds and installs vipt: the command, the C library, its two headers and
# a pkg-config file, so that a harness anywhere links with
#
#	cc harness.c $(pkg-config --cflags --libs vipt)
#
#	make                                  # cargo build --release
#	make install PREFIX=$HOME/.local      # then PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig
#	make uninstall PREFIX=$HOME/.local
#
# PROFILE=debug installs the debug build; DESTDIR stages a package. Only the
# static library is installed, so -lvipt links it without an rpath.

PREFIX ?= /usr/local
DESTDIR ?=
PROFILE ?= release
CARGO ?= cargo
TARGET_DIR ?= target
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include
PKGCONFIGDIR = $(LIBDIR)/pkgconfig
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
PROFILE_DIR = $(TARGET_DIR)/$(if $(filter dev debug,$(PROFILE)),debug,$(PROFILE))
CARGO_PROFILE = $(if $(filter debug,$(PROFILE)),dev,$(PROFILE))
# What libvipt.a needs from the C library (the Rust standard library's).
LIBS = -lpthread -ldl -lm -lrt -lutil

all:
	$(CARGO) build --profile $(CARGO_PROFILE) --target-dir $(TARGET_DIR) -p vipt-ffi -p vipt-cli

PC = $(TARGET_DIR)/vipt.pc

$(PC): FORCE
	@mkdir -p $(TARGET_DIR)
	printf '%s\n' \
		'prefix=$(PREFIX)' \
		'libdir=$${prefix}/lib' \
		'includedir=$${prefix}/include' \
		'' \
		'Name: vipt' \
		'Description: cache-flush races on VIPT caches: the parisc/Linux mm model and its explorer' \
		'Version: $(VERSION)' \
		'Cflags: -I$${includedir}' \
		'Libs: -L$${libdir} -lvipt $(LIBS)' > $@

install: all $(PC)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(PROFILE_DIR)/vipt $(DESTDIR)$(BINDIR)/vipt
	install -m 644 $(PROFILE_DIR)/libvipt.a $(DESTDIR)$(LIBDIR)/libvipt.a
	install -m 644 include/vipt.h include/vipt_kernel.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(PC) $(DESTDIR)$(PKGCONFIGDIR)/vipt.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vipt $(DESTDIR)$(LIBDIR)/libvipt.a \
		$(DESTDIR)$(INCLUDEDIR)/vipt.h $(DESTDIR)$(INCLUDEDIR)/vipt_kernel.h \
		$(DESTDIR)$(PKGCONFIGDIR)/vipt.pc

FORCE:

.PHONY: all install uninstall FORCE
