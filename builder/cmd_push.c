/* builder/cmd_push.c — `armlet push`: not written yet (placeholder so the builder links). */
#include <stdio.h>
#include "commands.h"

int cmd_push(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("armlet: push: not implemented yet\n", stderr);
    return 1;
}
