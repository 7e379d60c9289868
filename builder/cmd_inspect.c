/* builder/cmd_inspect.c — `armlet inspect`: not written yet (placeholder so the builder links). */
#include <stdio.h>
#include "commands.h"

int cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("armlet: inspect: not implemented yet\n", stderr);
    return 1;
}
