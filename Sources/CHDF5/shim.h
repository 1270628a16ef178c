/*
 * Swift-importable accessors for the parts of the HDF5 C API (1.10, "serial"
 * flavour) that Swift cannot import directly: macros that expand to casts or to
 * H5open()-guarded globals, and macros whose imported type is wrong.
 *
 * Every accessor of a library global calls H5open() first (through the macro
 * itself), so they are safe to call before any other HDF5 function.
 * Only Sources/AscentKeras/HDF5.swift imports this module.
 */
#ifndef ASCENT_CHDF5_SHIM_H
#define ASCENT_CHDF5_SHIM_H

#include <hdf5.h>

/* Property lists, dataspaces, error stacks. */
static inline hid_t ascent_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t ascent_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t ascent_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t ascent_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t ascent_H5P_LINK_ACCESS(void) { return H5P_LINK_ACCESS; }

/* File access flags. */
static inline unsigned ascent_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }

/* Object-info field selectors. */
static inline unsigned ascent_H5O_INFO_BASIC(void) { return H5O_INFO_BASIC; }
static inline unsigned ascent_H5O_INFO_NUM_ATTRS(void) { return H5O_INFO_NUM_ATTRS; }

/* Variable-length string size marker. */
static inline size_t ascent_H5T_VARIABLE(void) { return H5T_VARIABLE; }

/* Predefined datatypes (each macro calls H5open() first). */
static inline hid_t ascent_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t ascent_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t ascent_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t ascent_H5T_C_S1(void) { return H5T_C_S1; }

/* Little-endian standard types: memory types for raw reads that give little-endian bytes on any host. */
static inline hid_t ascent_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t ascent_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t ascent_H5T_STD_I8LE(void) { return H5T_STD_I8LE; }
static inline hid_t ascent_H5T_STD_I16LE(void) { return H5T_STD_I16LE; }
static inline hid_t ascent_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t ascent_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t ascent_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t ascent_H5T_STD_U16LE(void) { return H5T_STD_U16LE; }
static inline hid_t ascent_H5T_STD_U32LE(void) { return H5T_STD_U32LE; }
static inline hid_t ascent_H5T_STD_U64LE(void) { return H5T_STD_U64LE; }

#endif
