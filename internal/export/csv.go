// Package export writes the weekly evidence: CSV files (one per report
// table) and the PDF document.
package export

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"

	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/internal/report"
)

// CSV writes one RFC 4180 file per table into dir, named
// <week>-<report>.csv, and returns their paths.
func CSV(dir, week string, tables []*compliance.Table) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, t := range tables {
		p := filepath.Join(dir, week+"-"+t.Report.Name+".csv")
		if err := writeCSV(p, t); err != nil {
			return nil, fmt.Errorf("export %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func writeCSV(path string, t *compliance.Table) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.UseCRLF = true // RFC 4180
	if err := w.Write(t.Columns); err != nil {
		f.Close()
		return err
	}
	for _, row := range t.Rows {
		out := make([]string, len(row))
		for i, c := range row {
			out[i] = report.CSVCell(c)
		}
		if err := w.Write(out); err != nil {
			f.Close()
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
