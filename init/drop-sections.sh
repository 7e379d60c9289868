#!/bin/sh
# init/drop-sections.sh FILE — drop the section header table and the section name table
# from a 64-bit little-endian static ELF executable (what `sstrip` does), in place.
#
# The kernel loads a program through its program headers only; the section headers of
# a stripped static init (9 x 64 bytes + their names) are ~120 B of the 16 KiB gzip
# budget. Used on the 64-bit inits only: the 32-bit ARM ones keep .ARM.attributes, which
# says the CPU level a file needs (readelf -A, and armlet's own ELF check read it).
# Refuses (exit 1, file unchanged) anything but ELF64 LSB whose names table ends where
# the section headers begin and lies after every loadable byte.
set -eu
f=$1
u() { od -An -t "u$1" -j "$2" -N "$1" "$f" | tr -d ' '; }
[ "$(od -An -c -j 1 -N 3 "$f" | tr -d ' ')" = ELF ] && [ "$(u 1 4)$(u 1 5)" = 21 ] || { echo "$f: not ELF64 LSB" >&2; exit 1; }
shoff=$(u 8 40); phoff=$(u 8 32); phnum=$(u 2 56); shnum=$(u 2 60); ndx=$(u 2 62)
[ "$shoff" -gt 0 ] && [ "$ndx" -gt 0 ] && [ "$ndx" -lt "$shnum" ] || { echo "$f: no section table" >&2; exit 1; }
names=$(u 8 $((shoff + ndx * 64 + 24))); names_size=$(u 8 $((shoff + ndx * 64 + 32)))
end=0 i=0
while [ "$i" -lt "$phnum" ]; do   # the end of the file bytes any program header maps
  p=$((phoff + i * 56)); e=$(($(u 8 $((p + 8))) + $(u 8 $((p + 32)))))
  [ "$e" -gt "$end" ] && end=$e
  i=$((i + 1))
done
[ "$names" -ge "$end" ] && [ $((names + names_size)) -le "$shoff" ] || { echo "$f: unexpected layout" >&2; exit 1; }
truncate -s "$names" "$f"
# e_shoff (8 bytes at 40) and e_shentsize, e_shnum, e_shstrndx (2 bytes each at 58)
printf '\0\0\0\0\0\0\0\0' | dd of="$f" bs=1 seek=40 conv=notrunc status=none
printf '\0\0\0\0\0\0' | dd of="$f" bs=1 seek=58 conv=notrunc status=none
