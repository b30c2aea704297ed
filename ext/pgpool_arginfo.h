/* Arginfo for pgpool.stub.php, in the format gen_stub.php produces (regenerate with
 * php build/gen_stub.php ext/pgpool.stub.php when a php-src checkout is at hand). */

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_MASK_EX(arginfo_pgpool_stats, 0, 0, MAY_BE_ARRAY|MAY_BE_FALSE)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, pool, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()


ZEND_FUNCTION(pgpool_stats);


static const zend_function_entry ext_functions[] = {
	ZEND_FE(pgpool_stats, arginfo_pgpool_stats)
	ZEND_FE_END
};
