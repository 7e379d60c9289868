/* builder/cmd_build.c — `armlet build`: not written yet (placeholder so the builder links). */
#include <stdio.h>
#include "commands.h"

int cmd_build(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("armlet: build: not implemented yet\n", stderr);
    return 1;
}
