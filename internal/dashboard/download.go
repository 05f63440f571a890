package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/go-chi/chi/v5"

	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/internal/export"
)

// The downloads are the weekly evidence as the report command writes it,
// built in memory so that a failure is an error page, not half a file.

func (s *server) exportPDF(w http.ResponseWriter, r *http.Request) {
	s.download(w, r, "pdf", "application/pdf", func(ctx context.Context, v *view, buf *bytes.Buffer) error {
		tables, err := s.Data.Evidence(ctx, v.window)
		if err != nil {
			return err
		}
		return export.PDF(buf, export.Document{Week: v.week, Window: v.window, Generated: s.Now().UTC(), Tables: tables})
	})
}

func (s *server) exportZip(w http.ResponseWriter, r *http.Request) {
	s.download(w, r, "zip", "application/zip", func(ctx context.Context, v *view, buf *bytes.Buffer) error {
		tables, err := s.Data.Evidence(ctx, v.window)
		if err != nil {
			return err
		}
		return export.CSVZip(buf, v.week, tables)
	})
}

// exportTable is one report as CSV, with the page's filters applied.
func (s *server) exportTable(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "report")
	s.download(w, r, "csv", "text/csv; charset=utf-8", func(ctx context.Context, v *view, buf *bytes.Buffer) error {
		var t *compliance.Table
		var err error
		if name == compliance.Gate.Name {
			t, err = s.Data.Gate(ctx, v.window)
		} else if rep := s.report(ctx, name); rep != nil {
			t, err = s.Data.Table(ctx, rep, v.window)
		}
		if err != nil {
			return err
		}
		if t == nil {
			return &httpError{http.StatusNotFound, fmt.Sprintf("no report %q here", name)}
		}
		out := *t
		out.Rows = v.filterRows(t.Columns, t.Rows)
		return export.WriteCSV(buf, &out)
	})
}

// report is the named report, if this database can run it.
func (s *server) report(ctx context.Context, name string) *compliance.Report {
	reports, _ := compliance.Local(ctx, s.Data.db)
	if s.Data.HasInventory(ctx) {
		reports = append(reports, compliance.RotationStatus)
	}
	for _, r := range reports {
		if r.Name == name {
			return r
		}
	}
	return nil
}

func (s *server) download(w http.ResponseWriter, r *http.Request, ext, mime string, write func(context.Context, *view, *bytes.Buffer) error) {
	ctx := r.Context()
	v, err := s.newView(ctx, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := write(ctx, v, &buf); err != nil {
		s.fail(w, r, err)
		return
	}
	name := "secretgate-" + v.week
	// Only a single table follows the filters; the PDF and the zip are
	// the whole week, and their names say no more.
	if n := chi.URLParam(r, "report"); n != "" {
		name += "-" + n
		for _, f := range []string{v.env, v.service} {
			if f != "" {
				name += "-" + fileSafe(f)
			}
		}
	}
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+"."+ext))
	w.Write(buf.Bytes())
}

// fileSafe is a filter value fit for a file name: letters, digits, '.',
// '-' and '_', anything else '_' (it comes from the URL, not the inventory).
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '.' || r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, s)
}
