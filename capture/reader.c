/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "reader.h"
