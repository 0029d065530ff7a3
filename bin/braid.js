#!/usr/bin/env node
// The `braid` command runs the compiled CLI; `npm ci` builds it through the prepare script.
require('../dist/client/cli.js');
