/* main.c - placeholder until the CLI lands. */
#include <stdio.h>
int main(void)
{
    puts("serac");
    return 0;
}
