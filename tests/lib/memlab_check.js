// Load a .heapsnapshot with memlab's parser and say what it found, for
// tests/test_heapsnap.py.
//
// usage: node memlab_check.js MEMLAB_DIR FILE NAME...
//   MEMLAB_DIR  where scripts/setup-memlab installed @memlab/core and
//               @memlab/heap-analysis (npm install --prefix)
//   FILE        the heap snapshot
//   NAME        node names (types as leaktop prints them)
// Prints one line of JSON: the node and edge counts memlab parsed, the id
// of its first node (the root), and per NAME the nodes of type object so
// named (count, self sizes summed) and the shortest path memlab annotated
// to the first of them, from the root it starts at: [{node, type, id,
// edge, edge_type}], edge being the reference to the next step (null at
// the object).  Exit status 1 with a message on stderr when memlab cannot
// load the file.
'use strict';

const path = require('path');

function load(dir, name) {
  return require(require.resolve(name, {paths: [path.resolve(dir)]}));
}

function pathTo(core, heap, node) {
  const finder = new core.TraceFinder();
  let item = node ? finder.getPathToGCRoots(heap, node) : null;
  if (!item) {
    return null;
  }
  const steps = [];
  for (; item; item = item.next) {
    steps.push({
      node: item.node.name,
      type: item.node.type,
      id: item.node.id,
      edge: item.edge ? item.edge.name_or_index : null,
      edge_type: item.edge ? item.edge.type : null,
    });
  }
  return steps;
}

async function main() {
  const [dir, file, ...names] = process.argv.slice(2);
  if (!dir || !file || !names.length) {
    throw new Error('usage: node memlab_check.js MEMLAB_DIR FILE NAME...');
  }
  const core = load(dir, '@memlab/core');
  const analysis = load(dir, '@memlab/heap-analysis');
  core.config.muteConsole = true;  // its progress lines would mix with ours
  // Parses the file, annotates each node's shortest path from the roots
  // and computes dominators and retained sizes.
  const heap = await analysis.getFullHeapFromFile(path.resolve(file));
  const found = new Map(names.map(name => [name, {count: 0, bytes: 0, example: null}]));
  heap.nodes.forEach(node => {
    const f = node.type === 'object' ? found.get(node.name) : undefined;
    if (f) {
      f.count++;
      f.bytes += node.self_size;
      if (!f.example) {
        f.example = node;
      }
    }
  });
  const out = {
    nodes: heap.nodes.length,
    edges: heap.edges.length,
    root: heap.nodes.get(0) ? heap.nodes.get(0).id : null,
    names: {},
  };
  for (const name of names) {
    const f = found.get(name);
    out.names[name] = {
      count: f.count,
      bytes: f.bytes,
      retained: f.example ? f.example.retainedSize : null,
      path: pathTo(core, heap, f.example),
    };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().then(
  () => process.exit(0),
  err => {
    process.stderr.write('memlab_check: ' + (err && err.stack ? err.stack : err) + '\n');
    process.exit(1);
  },
);
