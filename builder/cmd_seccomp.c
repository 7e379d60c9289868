/* builder/cmd_seccomp.c — `armlet seccomp`: not written yet (placeholder so the builder links). */
#include <stdio.h>
#include "commands.h"

int cmd_seccomp(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("armlet: seccomp: not implemented yet\n", stderr);
    return 1;
}
