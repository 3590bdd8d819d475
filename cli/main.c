/*
 * jirasync: one binary, one subcommand per process role. This file only
 * parses the command line and wires modules together.
 */
#include "common/common.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}
