dnl config.m4 for pgpool: the PgPool PDO driver (ext/) and the pgpool-broker daemon (broker/),
dnl both built from the one copy of common/. `phpize && ./configure --enable-pgpool && make`
dnl builds modules/pgpool.so and ./pgpool-broker; `make install` installs both.

PHP_ARG_ENABLE([pgpool],
  [whether to enable pgpool],
  [AS_HELP_STRING([--enable-pgpool], [Enable the pgpool PDO driver and build pgpool-broker])])

PHP_ARG_ENABLE([pgpool-broker],
  [whether to build pgpool-broker],
  [AS_HELP_STRING([--disable-pgpool-broker], [Do not build the pgpool-broker daemon])],
  [yes], [no])

PHP_ARG_WITH([pgpool-sanitize],
  [whether to build with sanitizers],
  [AS_HELP_STRING([--with-pgpool-sanitize=LIST], [Build broker and extension with -fsanitize=LIST (e.g. address,undefined)])],
  [no], [no])

if test "$PHP_PGPOOL" != "no"; then
  case $host_os in
    linux*) ;;
    *) AC_MSG_ERROR([pgpool needs Linux (SCM_RIGHTS fd passing, futexes, shared memory)]) ;;
  esac

  PKG_PROG_PKG_CONFIG
  if test "$PHP_PGPOOL_BROKER" != "no"; then
    PKG_CHECK_MODULES([PGPOOL_LIBPQ], [libpq], [],
      [AC_MSG_ERROR([libpq not found: install libpq-dev (Debian/Ubuntu) or postgresql-devel])])
    PKG_CHECK_MODULES([PGPOOL_LIBURING], [liburing >= 2.0], [],
      [AC_MSG_ERROR([liburing not found: install liburing-dev (Debian/Ubuntu) or liburing-devel])])
    PKG_CHECK_MODULES([PGPOOL_LIBSYSTEMD], [libsystemd],
      [PGPOOL_HAVE_LIBSYSTEMD=-DPGP_HAVE_LIBSYSTEMD], [PGPOOL_HAVE_LIBSYSTEMD=])
  fi

  ifdef([PHP_CHECK_PDO_INCLUDES],
  [
    PHP_CHECK_PDO_INCLUDES
  ],[
    AC_MSG_CHECKING([for PDO includes])
    if test -f $abs_srcdir/include/php/ext/pdo/php_pdo_driver.h; then
      pdo_cv_inc_path=$abs_srcdir/ext
    elif test -f $prefix/include/php/ext/pdo/php_pdo_driver.h; then
      pdo_cv_inc_path=$prefix/include/php/ext
    else
      AC_MSG_ERROR([Cannot find php_pdo_driver.h.])
    fi
    AC_MSG_RESULT($pdo_cv_inc_path)
  ])

  PGPOOL_WARN="-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers"
  PGPOOL_HARDEN="-D_FORTIFY_SOURCE=2 -fstack-protector-strong"
  PGPOOL_SAN=""
  if test "$PHP_PGPOOL_SANITIZE" != "no"; then
    PGPOOL_SAN="-fsanitize=$PHP_PGPOOL_SANITIZE -fno-omit-frame-pointer"
    PGPOOL_HARDEN=""
  fi

  dnl Every .c of ext/ and common/ goes into the extension (re-run configure after adding one).
  dnl $abs_srcdir, not $ext_srcdir (set only by PHP_NEW_EXTENSION below): pecl configures in a
  dnl build directory of its own, where a relative glob finds nothing.
  pgpool_sources=`cd "$abs_srcdir" && echo ext/*.c common/*.c`

  PHP_NEW_EXTENSION(pgpool, $pgpool_sources, $ext_shared,,
    [-std=gnu11 -D_GNU_SOURCE -I@ext_srcdir@/common -I$pdo_cv_inc_path $PGPOOL_WARN $PGPOOL_HARDEN $PGPOOL_SAN])
  PHP_ADD_BUILD_DIR([$ext_builddir/ext], 1)
  PHP_ADD_BUILD_DIR([$ext_builddir/common], 1)
  PHP_ADD_EXTENSION_DEP(pgpool, pdo)
  if test -n "$PGPOOL_SAN"; then
    PGPOOL_SHARED_LIBADD="$PGPOOL_SHARED_LIBADD $PGPOOL_SAN"
  else
    dnl Full RELRO: the GOT is read-only once loaded (pdo is always loaded before us).
    PGPOOL_SHARED_LIBADD="$PGPOOL_SHARED_LIBADD -Wl,-z,relro,-z,now"
  fi
  PHP_SUBST(PGPOOL_SHARED_LIBADD)

  if test "$PHP_PGPOOL_BROKER" != "no"; then
    PGPOOL_BROKER_CFLAGS="-std=gnu11 -D_GNU_SOURCE -O2 -g $PGPOOL_WARN $PGPOOL_HARDEN $PGPOOL_SAN $PGPOOL_HAVE_LIBSYSTEMD $PGPOOL_LIBPQ_CFLAGS $PGPOOL_LIBURING_CFLAGS $PGPOOL_LIBSYSTEMD_CFLAGS"
    PGPOOL_BROKER_LIBS="$PGPOOL_LIBPQ_LIBS $PGPOOL_LIBURING_LIBS $PGPOOL_LIBSYSTEMD_LIBS -lpthread"
    if test -z "$PGPOOL_SAN"; then
      PGPOOL_BROKER_LDFLAGS="-pie -Wl,-z,relro,-z,now"
      PGPOOL_BROKER_CFLAGS="$PGPOOL_BROKER_CFLAGS -fPIE"
    else
      PGPOOL_BROKER_LDFLAGS="$PGPOOL_SAN"
    fi
    PHP_SUBST(PGPOOL_BROKER_CFLAGS)
    PHP_SUBST(PGPOOL_BROKER_LIBS)
    PHP_SUBST(PGPOOL_BROKER_LDFLAGS)
    PHP_ADD_MAKEFILE_FRAGMENT([$ext_srcdir/broker/Makefile.frag])
  fi
fi
