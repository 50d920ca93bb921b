#!/usr/bin/env python3
"""Check the OMNI-MESH interface files under msg/ against the ROS 2 corpus.

Usage (from the project root):

    python3 msg/tools/compare_to_corpus.py ../shared/ros2-interfaces

Checks, in order:
  1. coverage  - every file we promise to mirror exists, and every file in a
                 mirrored package has a corpus counterpart;
  2. defs      - for each mirrored file, the definition lines (comments and
                 blank lines removed, whitespace collapsed, no spaces around
                 '=' in constants) equal the corpus lines, in order;
  3. style     - house rules for all our files (UTF-8, LF, final newline, no
                 tabs, no trailing spaces, column-0 definitions, 1-3 line
                 file comment followed by a blank line, `TYPE NAME=VALUE`
                 constants, no bare `Header`);
  4. grammar   - ROS naming rules, constant types, defaults, separators,
                 and that every message reference resolves inside msg/;
  5. comments  - no comment line of ours (4+ words) equals a corpus comment
                 line, so upstream prose is not carried over;
  6. hash      - RIHS01 hashes of all mirrored .msg types computed from our
                 files equal those computed from the corpus, and the known
                 test vectors for std_msgs String, Empty and Header match.

Exits 0 when everything passes, 1 on any mismatch, 2 on bad usage.
"""

import hashlib
import json
import re
import sys
from pathlib import Path

MSG_ROOT = Path(__file__).resolve().parent.parent

# Packages that mirror ROS: None means "every file of the corpus package".
MIRRORED = {
    'builtin_interfaces': None,
    'std_msgs': None,
    'geometry_msgs': None,
    'sensor_msgs': [
        'msg/BatteryState.msg', 'msg/CameraInfo.msg', 'msg/ChannelFloat32.msg',
        'msg/CompressedImage.msg', 'msg/Image.msg', 'msg/Imu.msg',
        'msg/JointState.msg', 'msg/Joy.msg', 'msg/LaserScan.msg',
        'msg/MagneticField.msg', 'msg/NavSatFix.msg', 'msg/NavSatStatus.msg',
        'msg/PointCloud.msg', 'msg/PointCloud2.msg', 'msg/PointField.msg',
        'msg/Range.msg', 'msg/RegionOfInterest.msg', 'msg/Temperature.msg',
        'msg/FluidPressure.msg', 'msg/Illuminance.msg',
        'msg/RelativeHumidity.msg', 'msg/TimeReference.msg',
        'srv/SetCameraInfo.srv',
    ],
    'nav_msgs': None,
    'unique_identifier_msgs': None,
    'action_msgs': None,
    'service_msgs': None,
    'std_srvs': None,
    'example_interfaces': ['srv/AddTwoInts.srv'],
}

# Our own packages: checked for style and grammar only.
OWN = {
    'omni_msgs': [
        'msg/MotionCommand.msg', 'msg/RobotState.msg', 'msg/Heartbeat.msg',
        'msg/FleetTask.msg', 'msg/TaskStatus.msg', 'msg/Letter.msg',
        'msg/DeliveryControl.msg', 'msg/BridgeAnnouncement.msg',
        'srv/SetMode.srv', 'srv/AssignTask.srv',
        'action/NavigateTo.action',
    ],
}

KIND_EXT = {'msg': '.msg', 'srv': '.srv', 'action': '.action'}
SECTIONS = {'.msg': 1, '.srv': 2, '.action': 3}

NAME_RE = re.compile(r'^(?!.*__)(?!.*_$)[a-z][a-z0-9_]*$')   # packages, fields
TYPE_RE = re.compile(r'^[A-Z][A-Za-z0-9]*$')
CONST_RE = re.compile(r'^[A-Z]([A-Z0-9_]?[A-Z0-9]+)*$')
FIELD_TYPE_RE = re.compile(
    r'^(?P<base>[A-Za-z][A-Za-z0-9_]*(?:/[A-Za-z][A-Za-z0-9_]*)?)'
    r'(?:<=(?P<sbound>\d+))?'
    r'(?:\[(?P<bounded><=)?(?P<size>\d*)\])?$')

INT_RANGES = {
    'byte': (0, 255), 'char': (0, 255),
    'int8': (-2**7, 2**7 - 1), 'uint8': (0, 2**8 - 1),
    'int16': (-2**15, 2**15 - 1), 'uint16': (0, 2**16 - 1),
    'int32': (-2**31, 2**31 - 1), 'uint32': (0, 2**32 - 1),
    'int64': (-2**63, 2**63 - 1), 'uint64': (0, 2**64 - 1),
}
PRIMITIVES = set(INT_RANGES) | {'bool', 'float32', 'float64', 'string', 'wstring'}

# RIHS01 type ids (type_description_interfaces/msg/FieldType.msg).
TYPE_IDS = {
    'int8': 2, 'uint8': 3, 'char': 3, 'int16': 4, 'uint16': 5, 'int32': 6,
    'uint32': 7, 'int64': 8, 'uint64': 9, 'float32': 10, 'float64': 11,
    'bool': 15, 'byte': 16, 'string': 17, 'wstring': 18,
}
HASH_VECTORS = {
    'std_msgs/msg/String':
        'RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18',
    'std_msgs/msg/Empty':
        'RIHS01_20b625256f32d5dbc0d04fee44f43c41e51c70d3502f84b4a08e7a9c26a96312',
    'std_msgs/msg/Header':
        'RIHS01_f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01',
}


class Report:
    def __init__(self):
        self.errors = []

    def err(self, where, text):
        self.errors.append(f'{where}: {text}')


# ---------------------------------------------------------------- parsing

def strip_comment(line):
    """Everything from the first '#' on is a comment (no quote awareness)."""
    return line.split('#', 1)[0].rstrip()


def definition_lines(text):
    """Definition lines of a file, normalized for comparison."""
    out = []
    for raw in text.replace('\t', ' ').splitlines():
        line = strip_comment(raw)
        if not line.strip():
            continue
        if line == '---':
            out.append('---')
            continue
        norm = ' '.join(line.split())
        typ, _, rest = norm.partition(' ')
        if '=' in rest:
            name, _, value = rest.partition('=')
            norm = f'{typ} {name.strip()}={value.strip()}'
        out.append(norm)
    return out


def parse_sections(text):
    """Split a file into sections of parsed items.

    Each item is a dict: kind ('field'|'const'), type, name, value/default,
    lineno, indented (bool).
    """
    sections = [[]]
    for lineno, raw in enumerate(text.replace('\t', ' ').splitlines(), 1):
        line = strip_comment(raw)
        if not line.strip():
            continue
        if line == '---':
            sections.append([])
            continue
        indented = line[0] == ' '
        body = line.strip()
        typ, _, rest = body.partition(' ')
        rest = rest.lstrip()
        item = {'type': typ, 'lineno': lineno, 'indented': indented, 'raw': raw}
        if '=' in rest:
            name, _, value = rest.partition('=')
            item.update(kind='const', name=name.strip(), value=value.strip())
        else:
            name, _, default = rest.partition(' ')
            item.update(kind='field', name=name,
                        default=default.lstrip() or None)
        sections[-1].append(item)
    return sections


def split_type(typ):
    m = FIELD_TYPE_RE.match(typ)
    if not m:
        return None
    size = m.group('size')
    if m.group('size') is None and '[' not in typ:
        array = None
    elif m.group('bounded'):
        array = ('bounded', int(size) if size else None)
    elif size:
        array = ('fixed', int(size))
    else:
        array = ('unbounded', None)
    sbound = int(m.group('sbound')) if m.group('sbound') else None
    return m.group('base'), sbound, array


def resolve(base, pkg):
    """Return 'pkg/Type' for a message reference, None for a primitive."""
    if base in PRIMITIVES:
        return None
    if '/' in base:
        return base
    return f'{pkg}/{base}'


# ---------------------------------------------------------------- checks

def check_coverage(corpus, rep):
    """Return list of (pkg, relpath) pairs that must be compared."""
    pairs = []
    for pkg, files in MIRRORED.items():
        cdir = corpus / pkg
        if not cdir.is_dir():
            rep.err(pkg, 'package missing from corpus')
            continue
        expected = files if files is not None else sorted(
            str(p.relative_to(cdir)) for p in cdir.rglob('*') if p.is_file())
        ours = sorted(str(p.relative_to(MSG_ROOT / pkg))
                      for p in (MSG_ROOT / pkg).rglob('*') if p.is_file())
        for rel in expected:
            if not (MSG_ROOT / pkg / rel).is_file():
                rep.err(f'{pkg}/{rel}', 'missing from msg/')
            elif not (cdir / rel).is_file():
                rep.err(f'{pkg}/{rel}', 'missing from corpus')
            else:
                pairs.append((pkg, rel))
        for rel in ours:
            if rel not in expected:
                rep.err(f'{pkg}/{rel}', 'extra file in a mirrored package')
    for pkg, files in OWN.items():
        ours = sorted(str(p.relative_to(MSG_ROOT / pkg))
                      for p in (MSG_ROOT / pkg).rglob('*') if p.is_file())
        for rel in files:
            if rel not in ours:
                rep.err(f'{pkg}/{rel}', 'missing from msg/')
        for rel in ours:
            if rel not in files:
                rep.err(f'{pkg}/{rel}', 'unexpected file')
    return pairs


def check_defs(corpus, pairs, rep):
    for pkg, rel in pairs:
        ours = definition_lines((MSG_ROOT / pkg / rel).read_text('utf-8'))
        theirs = definition_lines((corpus / pkg / rel).read_text('utf-8'))
        if ours == theirs:
            continue
        for i in range(max(len(ours), len(theirs))):
            a = ours[i] if i < len(ours) else '<end>'
            b = theirs[i] if i < len(theirs) else '<end>'
            if a != b:
                rep.err(f'{pkg}/{rel}',
                        f'definition {i + 1} differs: ours {a!r}, corpus {b!r}')
                break


def check_style(path, label, rep):
    data = path.read_bytes()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        rep.err(label, 'not UTF-8')
        return
    if data.startswith(b'\xef\xbb\xbf'):
        rep.err(label, 'has a BOM')
    if b'\r' in data:
        rep.err(label, 'has CR characters')
    if b'\t' in data:
        rep.err(label, 'has tabs')
    if not text.endswith('\n'):
        rep.err(label, 'no final newline')
    lines = text.split('\n')[:-1]
    for n, line in enumerate(lines, 1):
        if line != line.rstrip():
            rep.err(f'{label}:{n}', 'trailing whitespace')
        body = strip_comment(line)
        if body.strip() and body[0] == ' ':
            rep.err(f'{label}:{n}', 'definition not in column 0')
        if body.strip() and body != '---':
            typ, _, rest = body.partition(' ')
            if '=' in rest and re.search(r'\s=|=\s', rest):
                rep.err(f'{label}:{n}', 'write constants as TYPE NAME=VALUE')
            if split_type(typ) and split_type(typ)[0] == 'Header':
                rep.err(f'{label}:{n}', 'bare Header; write std_msgs/Header')
    # File-level comment: 1-3 column-0 '#' lines, then a blank line or EOF.
    head = 0
    while head < len(lines) and lines[head].startswith('#'):
        head += 1
    if not 1 <= head <= 3:
        rep.err(label, f'file comment should be 1-3 lines, found {head}')
    elif head < len(lines) and lines[head] != '':
        rep.err(label, 'file comment must be followed by a blank line')


def check_default(item, base, array, sbound, where, rep):
    value = item['default']
    if base not in PRIMITIVES:
        rep.err(where, 'default on a message-typed field')
        return
    values = [value]
    if array:
        if not (value.startswith('[') and value.endswith(']')):
            rep.err(where, 'array default must be [...]')
            return
        inner = value[1:-1].strip()
        values = [v.strip() for v in inner.split(',')] if inner else []
        kind, size = array
        if kind == 'fixed' and len(values) != size:
            rep.err(where, f'needs exactly {size} default elements')
        if kind == 'bounded' and len(values) > size:
            rep.err(where, f'at most {size} default elements')
    for v in values:
        check_literal(base, v, sbound, where, rep)


def check_literal(base, value, sbound, where, rep):
    if base in INT_RANGES:
        try:
            try:
                n = int(value)
            except ValueError:
                n = int(value, 0)
        except ValueError:
            rep.err(where, f'bad integer {value!r}')
            return
        lo, hi = INT_RANGES[base]
        if not lo <= n <= hi:
            rep.err(where, f'{value} out of range for {base}')
    elif base in ('float32', 'float64'):
        try:
            float(value)
        except ValueError:
            rep.err(where, f'bad float {value!r}')
    elif base == 'bool':
        if value.lower() not in ('true', 'false', '1', '0'):
            rep.err(where, f'bad bool {value!r}')
    elif base in ('string', 'wstring'):
        s = value
        if len(s) >= 2 and s[0] == s[-1] and s[0] in '"\'':
            s = s[1:-1]
        if sbound is not None and len(s) > sbound:
            rep.err(where, f'string longer than {sbound}')


def check_grammar(path, pkg, label, rep):
    text = path.read_text('utf-8')
    if not NAME_RE.match(pkg):
        rep.err(label, f'bad package name {pkg!r}')
    if not TYPE_RE.match(path.stem):
        rep.err(label, f'bad type name {path.stem!r}')
    sections = parse_sections(text)
    want = SECTIONS[path.suffix]
    if len(sections) != want:
        rep.err(label, f'{len(sections)} sections, expected {want}')
    for section in sections:
        fields, consts = set(), set()
        for item in section:
            where = f"{label}:{item['lineno']}"
            if item['indented']:
                rep.err(where, 'definition not in column 0')
            parsed = split_type(item['type'])
            if not parsed:
                rep.err(where, f"bad type {item['type']!r}")
                continue
            base, sbound, array = parsed
            if item['kind'] == 'const':
                if not CONST_RE.match(item['name']):
                    rep.err(where, f"bad constant name {item['name']!r}")
                if item['name'] in consts:
                    rep.err(where, f"duplicate constant {item['name']}")
                consts.add(item['name'])
                if base not in PRIMITIVES or sbound or array:
                    rep.err(where, 'constants need a plain primitive type')
                else:
                    check_literal(base, item['value'], None, where, rep)
                continue
            if not NAME_RE.match(item['name']):
                rep.err(where, f"bad field name {item['name']!r}")
            if item['name'] in fields:
                rep.err(where, f"duplicate field {item['name']}")
            fields.add(item['name'])
            if sbound is not None and (base not in ('string', 'wstring') or sbound < 1):
                rep.err(where, 'bad string bound')
            if array and array[0] != 'unbounded' and not array[1]:
                rep.err(where, 'array bound must be >= 1')
            ref = resolve(base, pkg)
            if ref:
                rpkg, _, rtype = ref.partition('/')
                if '/' in rtype or not NAME_RE.match(rpkg) or not TYPE_RE.match(rtype):
                    rep.err(where, f'bad type reference {base!r}')
                elif not (MSG_ROOT / rpkg / 'msg' / f'{rtype}.msg').is_file():
                    rep.err(where, f'reference {ref} not found under msg/')
            if item['default'] is not None:
                check_default(item, base, array, sbound, where, rep)


def comment_texts(text):
    out = []
    for line in text.splitlines():
        if '#' in line:
            c = line.split('#', 1)[1].lstrip('#')
            c = ' '.join(c.split()).lower()
            if len(c.split()) >= 4:
                out.append(c)
    return out


def check_comments(corpus, our_files, rep):
    upstream = set()
    for p in corpus.rglob('*'):
        if p.suffix in SECTIONS and p.is_file():
            upstream.update(comment_texts(p.read_text('utf-8')))
    for path, label in our_files:
        for c in comment_texts(path.read_text('utf-8')):
            if c in upstream:
                rep.err(label, f'comment copied from the corpus: {c!r}')


# ---------------------------------------------------------------- RIHS01

def field_description(name, typ, pkg):
    base, sbound, array = split_type(typ)
    ref = resolve(base, pkg)
    if ref:
        rpkg, _, rtype = ref.partition('/')
        type_id, nested = 1, f'{rpkg}/msg/{rtype}'
    else:
        type_id, nested = TYPE_IDS[base], ''
        if sbound is not None:
            type_id = 21 if base == 'string' else 22
    capacity = 0
    if array:
        type_id += {'fixed': 48, 'bounded': 96, 'unbounded': 144}[array[0]]
        capacity = array[1] or 0
    return ({'name': name, 'type': {
        'type_id': type_id, 'capacity': capacity,
        'string_capacity': sbound or 0, 'nested_type_name': nested}},
        nested or None)


def individual(root, full_name, cache):
    if full_name in cache:
        return cache[full_name]
    pkg, _, rest = full_name.partition('/msg/')
    text = (root / pkg / 'msg' / f'{rest}.msg').read_text('utf-8')
    fields, refs = [], []
    for item in parse_sections(text)[0]:
        if item['kind'] != 'field':
            continue
        desc, nested = field_description(item['name'], item['type'], pkg)
        fields.append(desc)
        if nested:
            refs.append(nested)
    if not fields:
        fields.append({'name': 'structure_needs_at_least_one_member', 'type': {
            'type_id': 3, 'capacity': 0, 'string_capacity': 0,
            'nested_type_name': ''}})
    cache[full_name] = ({'type_name': full_name, 'fields': fields}, refs)
    return cache[full_name]


def rihs01(root, full_name, cache):
    top, refs = individual(root, full_name, cache)
    seen, todo = {}, list(refs)
    while todo:
        name = todo.pop()
        if name in seen or name == full_name:
            continue
        desc, more = individual(root, name, cache)
        seen[name] = desc
        todo.extend(more)
    doc = {'type_description': top,
           'referenced_type_descriptions': [seen[k] for k in sorted(seen)]}
    data = json.dumps(doc, separators=(', ', ': '), ensure_ascii=True)
    return 'RIHS01_' + hashlib.sha256(data.encode('utf-8')).hexdigest()


def check_hashes(corpus, pairs, rep):
    ours_cache, theirs_cache, count = {}, {}, 0
    for pkg, rel in pairs:
        if not rel.startswith('msg/'):
            continue
        name = f'{pkg}/msg/{Path(rel).stem}'
        try:
            a = rihs01(MSG_ROOT, name, ours_cache)
            b = rihs01(corpus, name, theirs_cache)
        except (OSError, KeyError, TypeError) as exc:
            rep.err(name, f'cannot hash: {exc}')
            continue
        count += 1
        if a != b:
            rep.err(name, f'type hash differs: ours {a}, corpus {b}')
    for name, want in HASH_VECTORS.items():
        got = rihs01(MSG_ROOT, name, ours_cache)
        if got != want:
            rep.err(name, f'hash {got} does not match test vector {want}')
    return count


# ---------------------------------------------------------------- main

def main(argv):
    if len(argv) != 2:
        print('usage: python3 msg/tools/compare_to_corpus.py <corpus-root>',
              file=sys.stderr)
        return 2
    corpus = Path(argv[1]).resolve()
    if not (corpus / 'std_msgs').is_dir():
        print(f'error: {corpus} does not look like the interface corpus',
              file=sys.stderr)
        return 2

    results = []

    cov = Report()
    pairs = check_coverage(corpus, cov)
    results.append(('coverage', cov, f'{len(pairs)} mirrored files'))

    rep = Report()
    check_defs(corpus, pairs, rep)
    results.append(('defs', rep, f'{len(pairs)} files compared'))

    our_files = []
    for pkg in list(MIRRORED) + list(OWN):
        for path in sorted((MSG_ROOT / pkg).rglob('*')):
            if path.is_file() and path.suffix in SECTIONS:
                if path.parent.name == path.suffix[1:]:
                    our_files.append((path, pkg, f'{pkg}/{path.relative_to(MSG_ROOT / pkg)}'))
                else:
                    cov.err(str(path), 'file in the wrong folder')

    rep = Report()
    for path, _pkg, label in our_files:
        check_style(path, label, rep)
    results.append(('style', rep, f'{len(our_files)} files'))

    rep = Report()
    for path, pkg, label in our_files:
        check_grammar(path, pkg, label, rep)
    results.append(('grammar', rep, f'{len(our_files)} files'))

    rep = Report()
    check_comments(corpus, [(p, l) for p, _k, l in our_files], rep)
    results.append(('comments', rep, f'{len(our_files)} files'))

    rep = Report()
    n = check_hashes(corpus, pairs, rep)
    results.append(('hash', rep, f'{n} message types + {len(HASH_VECTORS)} test vectors'))

    failed = 0
    for name, rep, summary in results:
        status = 'ok' if not rep.errors else f'FAIL ({len(rep.errors)})'
        print(f'{name:9} {status:10} {summary}')
        for e in rep.errors:
            print(f'    {e}')
        failed += len(rep.errors)
    print('PASS' if not failed else f'FAILED: {failed} problem(s)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
