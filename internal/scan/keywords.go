package scan

// keywordMatcher is an Aho-Corasick automaton over lower-cased keywords,
// compiled to a dense DFA. Input bytes are folded to lower case and mapped to
// a small alphabet of byte classes (the bytes that occur in some keyword, plus
// one class for all others), which keeps the transition table small enough to
// stay in cache: one table lookup per input byte, no lowered copy of the text.
type keywordMatcher struct {
	class    [256]uint8
	nclass   int
	next     []int32   // state*nclass + class -> state
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
	m.next = make([]int32, n*m.nclass)
	m.out = make([][]int32, n)
	fail := make([]int32, n)
	queue := make([]int32, 0, n)
	for c := 0; c < m.nclass; c++ {
		if nx, ok := nodes[0].child[uint8(c)]; ok {
			m.next[c] = nx
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
				fail[nx] = m.next[int(fail[s])*m.nclass+c]
				m.next[int(s)*m.nclass+c] = nx
				queue = append(queue, nx)
			} else {
				m.next[int(s)*m.nclass+c] = m.next[int(fail[s])*m.nclass+c]
			}
		}
	}
	return m
}

// find calls hit for every keyword occurrence, with the keyword id and the
// offset just past its last byte.
func (m *keywordMatcher) find(text []byte, hit func(id int32, end int)) {
	if len(m.keywords) == 0 {
		return
	}
	next, class, nclass := m.next, &m.class, int32(m.nclass)
	s := int32(0)
	for i, b := range text {
		s = next[s*nclass+int32(class[b])]
		if o := m.out[s]; len(o) > 0 {
			for _, id := range o {
				hit(id, i+1)
			}
		}
	}
}
