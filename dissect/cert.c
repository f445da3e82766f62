/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "cert.h"
