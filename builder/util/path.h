/* builder/util/path.h — path strings (no file system access).
 *
 *     char *dir = path_dir("recipes/app.recipe");   // "recipes"; free(dir)
 *
 * Nothing here touches the file system or sets errno beyond what malloc sets.
 */
#ifndef ARMLET_PATH_H
#define ARMLET_PATH_H

/* The folder part of path, malloc'd (the caller frees it; NULL when out of memory):
 * "/a/b" -> "/a", "a/b" -> "a", "b" -> ".", "/a" -> "/". */
char *path_dir(const char *path);

#endif
