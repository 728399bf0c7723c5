#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the project's IEEE feeder files (feeders/) from the published data.

The IEEE PES test-feeder data (line impedance matrices, loads, transformers,
regulator settings) is read from OpenDSS-format copies (../shared/feeders) and
written again in our own layout: one self-contained file per feeder, one
element per line, named properties in a fixed order, only the line codes the
feeder uses, and our own comments. Run from the repository root:
    python3 scripts/make_feeders.py ../shared/feeders feeders
"""
import os
import re
import sys

ORDER = {
    'linecode': ['nphases', 'units', 'r1', 'x1', 'r0', 'x0', 'c1', 'c0',
                 'rmatrix', 'xmatrix', 'cmatrix'],
    'line': ['phases', 'bus1', 'bus2', 'linecode', 'length', 'units',
             'switch', 'r1', 'x1', 'r0', 'x0', 'c1', 'c0'],
    'load': ['bus1', 'phases', 'conn', 'model', 'kv', 'kw', 'kvar',
             'vminpu'],
    'capacitor': ['bus1', 'phases', 'kvar', 'kv'],
}


def tokens(text):
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in ' \t,':
            i += 1
            continue
        m = re.match(r'([^\s=,]+)\s*=\s*', text[i:])
        key = None
        if m:
            key = m.group(1).lower()
            i += m.end()
        c = text[i] if i < len(text) else ''
        pairs = {'"': '"', "'": "'", '[': ']', '(': ')', '{': '}'}
        if c in pairs:
            j = text.index(pairs[c], i + 1)
            val = text[i + 1:j]
            i = j + 1
        else:
            j = i
            while j < len(text) and text[j] not in ' \t,':
                j += 1
            val = text[i:j]
            i = j
        out.append((key, val.strip()))
    return out


def commands(path):
    """Commands of a script with continuation lines joined, comments cut."""
    cmds = []
    for raw in open(path, encoding='latin-1').read().splitlines():
        line = raw.split('!')[0].split('//')[0].strip()
        if not line:
            continue
        if line.startswith('~'):
            cmds[-1] += ' ' + line[1:]
        else:
            cmds.append(line)
    return cmds


def rpn(v):
    parts = v.split()
    if len(parts) < 3 or parts[-1] not in '+-*/':
        return v
    st = []
    for p in parts:
        if p in ('+', '-', '*', '/'):
            b, a = st.pop(), st.pop()
            st.append({'+': a + b, '-': a - b, '*': a * b, '/': a / b}[p])
        else:
            st.append(float(p))
    return '%.10g' % st[0]


def fmt(v):
    v = re.sub(r'\s+', ' ', v.strip())
    if ' ' in v or '|' in v or ',' in v:
        return '[' + v + ']'
    return v


def element(cls, name, props):
    keys = ORDER.get(cls)
    if keys:
        d = dict(props)
        rest = [(k, v) for k, v in props if k not in keys]
        props = [(k, d[k]) for k in keys if k in d] + rest
    s = 'new %s.%s' % (cls, name.lower())
    for k, v in props:
        s += ' %s=%s' % (k, fmt(rpn(v)))
    return s


def convert(srcdir, main, extra_cmds, title, notes):
    """Collect elements of the main script (following redirects)."""
    codes, used, body = {}, set(), []
    settings = []

    def walk(path):
        for c in commands(path):
            t = tokens(c)
            verb = t[0][1].lower() if t[0][0] is None else ''
            if verb in ('redirect', 'compile'):
                walk(os.path.join(os.path.dirname(path), t[1][1]))
                continue
            if verb == 'new':
                obj = t[1][1]
                props = t[2:]
                cls, name = obj.split('.', 1)
                cls = cls.lower()
                props = [(k.lower() if k else None, v) for k, v in props]
                if cls == 'linecode':
                    codes[name.lower()] = props
                    continue
                if cls in ('energymeter', 'monitor'):
                    continue
                if cls == 'line':
                    for k, v in props:
                        if k == 'linecode':
                            used.add(v.lower())
                body.append((cls, name, props))
            elif verb == 'set':
                for k, v in t[1:]:
                    if k in ('voltagebases', 'maxiterations'):
                        settings.append('set %s=%s' % (k, fmt(v)))
            elif t[0][0] and '.' in t[0][0]:
                # Class.Name.prop=value: fold into the element.
                cls, name, prop = t[0][0].rsplit('.', 2)
                for b in body:
                    if b[0] == cls.lower() and b[1].lower() == name.lower():
                        b[2].append((prop.lower(), t[0][1]))
                        for k, v in t[1:]:
                            b[2].append((k.lower(), v))
    walk(os.path.join(srcdir, main))
    out = ['! %s' % title,
           '!',
           '! Written for gridledger from the IEEE PES distribution test '
           'feeder data',
           '! (Kersting et al.). Units: line codes in ohms and nF per unit '
           'length,',
           '! loads in kW/kvar at the kV across the load, transformers in '
           'percent on',
           '! the winding-1 kVA base.']
    out += ['! ' + n for n in notes]
    out += ['', 'clear', 'set defaultbasefrequency=60', '']
    circ = [b for b in body if b[0] in ('circuit', 'object')]
    for cls, name, props in body:
        if cls == 'circuit':
            out.append('! the supply: a stiff three-phase source')
            out.append(element('circuit', name, props))
    out += ['', '! line impedances of the overhead and cable configurations']
    for name in sorted(used, key=lambda s: (len(s), s)):
        out.append(element('linecode', name, codes[name]))
    groups = [('transformer', 'transformers and regulators (tap changers)'),
              ('regcontrol', 'regulator controls: vreg and band in volts '
               'on the PT secondary, R and X the line-drop compensator'),
              ('line', 'lines and switches'),
              ('capacitor', 'shunt capacitor banks'),
              ('load', 'spot and distributed loads')]
    for cls, what in groups:
        els = [b for b in body if b[0] == cls]
        if not els:
            continue
        out += ['', '! %s (%d)' % (what, len(els))]
        for c, name, props in els:
            if cls == 'transformer':
                # windings one per continuation line
                s = 'new transformer.%s' % name.lower()
                cur = []
                for k, v in props:
                    if k == 'wdg':
                        out.append(s + ' ' + ' '.join(cur))
                        s, cur = '~', []
                    cur.append('%s=%s' % (k, fmt(rpn(v))))
                out.append(s + ' ' + ' '.join(cur))
            else:
                out.append(element(cls, name, props))
    out += [''] + settings + ['calcvoltagebases'] + extra_cmds + ['solve', '']
    del circ
    return '\n'.join(out)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    feeders = [
        ('ieee13', 'IEEE13Nodeckt.dss', [],
         'IEEE 13 node test feeder (4.16 kV, unbalanced, regulated)',
         ['Kersting\'s node XFXFM1 is the low side of XFM1, bus 634 here.']),
        ('ieee34', 'ieee34Mod1.dss', ['set maxcontroliter=30'],
         'IEEE 34 node test feeder (24.9 kV, long and lightly loaded)',
         ['Distributed loads are split between the two ends of their '
          'section.']),
        ('ieee37', 'ieee37.dss', ['set maxiterations=100'],
         'IEEE 37 node test feeder (4.8 kV delta, underground, open-delta '
         'regulator)', []),
        ('ieee123', 'IEEE123Master.dss',
         ['regcontrol.creg1a.maxtapchange=1 delay=15',
          'regcontrol.creg2a.maxtapchange=1 delay=30',
          'regcontrol.creg3a.maxtapchange=1 delay=30',
          'regcontrol.creg3c.maxtapchange=1 delay=30',
          'regcontrol.creg4a.maxtapchange=1 delay=30',
          'regcontrol.creg4b.maxtapchange=1 delay=30',
          'regcontrol.creg4c.maxtapchange=1 delay=30',
          'set maxcontroliter=30'],
         'IEEE 123 node test feeder (4.16 kV, four regulators, switches)',
         ['Regulators move one tap per control iteration, the head one '
          'first.']),
    ]
    for folder, main_file, extra, title, notes in feeders:
        text = convert(os.path.join(src, folder), main_file, extra, title,
                       notes)
        os.makedirs(os.path.join(dst, folder), exist_ok=True)
        with open(os.path.join(dst, folder, folder + '.dss'), 'w') as f:
            f.write(text)


main()
