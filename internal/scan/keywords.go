package scan

// keywordMatcher is an Aho-Corasick automaton over lower-cased keywords,
// compiled to a dense DFA. Input bytes are folded to lower case and mapped to
// a small alphabet of byte classes (the bytes that occur in some keyword, plus
// one class for all others), which keeps the transition table small enough to
// stay in cache: one table lookup per input byte, no lowered copy of the text.
type keywordMatcher struct {
	class  [256]uint8
	nclass int
	// delta is the scanning table: delta[row+class] is the next state's row
	// (state*nclass), bit-inverted (negative) when keywords end there, so the
	// loop needs no multiply and no second lookup on the common path.
	delta    []int32
	out      [][]int32 // state -> keyword ids ending here (including via suffix links)
	keywords []string
}

func newKeywordMatcher(keywords []string) *keywordMatcher {
	m := &keywordMatcher{keywords: keywords}
	// Byte classes: 0 for bytes in no keyword.
	for _, k := range keywords {
		for i := 0; i < len(k); i++ {
			c := k[i]
			if m.class[c] == 0 {
				m.nclass++
				m.class[c] = uint8(m.nclass)
			}
		}
	}
	m.nclass++
	if m.nclass > 255 {
		panic("scan: keyword alphabet too large")
	}
	// Fold upper case ASCII onto the lower-case classes.
	for c := 'A'; c <= 'Z'; c++ {
		m.class[c] = m.class[c+'a'-'A']
	}

	// Trie.
	type node struct {
		child map[uint8]int32
		out   []int32
	}
	nodes := []node{{child: map[uint8]int32{}}}
	for id, k := range keywords {
		s := int32(0)
		for i := 0; i < len(k); i++ {
			c := m.class[k[i]]
			nx, ok := nodes[s].child[c]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, node{child: map[uint8]int32{}})
				nodes[s].child[c] = nx
			}
			s = nx
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}

	// Breadth-first: fill the DFA and the suffix links together.
	n := len(nodes)
	next := make([]int32, n*m.nclass)
	m.out = make([][]int32, n)
	fail := make([]int32, n)
	queue := make([]int32, 0, n)
	for c := 0; c < m.nclass; c++ {
		if nx, ok := nodes[0].child[uint8(c)]; ok {
			next[c] = nx
			queue = append(queue, nx)
		}
	}
	m.out[0] = nodes[0].out
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = append(append([]int32(nil), nodes[s].out...), m.out[fail[s]]...)
		for c := 0; c < m.nclass; c++ {
			if nx, ok := nodes[s].child[uint8(c)]; ok {
				fail[nx] = next[int(fail[s])*m.nclass+c]
				next[int(s)*m.nclass+c] = nx
				queue = append(queue, nx)
			} else {
				next[int(s)*m.nclass+c] = next[int(fail[s])*m.nclass+c]
			}
		}
	}
	m.delta = make([]int32, len(next))
	for i, t := range next {
		row := t * int32(m.nclass)
		if len(m.out[t]) > 0 {
			row = ^row
		}
		m.delta[i] = row
	}
	return m
}

// find calls hit for every keyword occurrence, with the keyword id and the
// offset just past its last byte.
func (m *keywordMatcher) find(text []byte, hit func(id int32, end int)) {
	if len(m.keywords) == 0 {
		return
	}
	delta, class, nclass := m.delta, &m.class, int32(m.nclass)
	row := int32(0)
	for i, b := range text {
		row = delta[row+int32(class[b])]
		if row < 0 {
			row = ^row
			for _, id := range m.out[row/nclass] {
				hit(id, i+1)
			}
		}
	}
}
