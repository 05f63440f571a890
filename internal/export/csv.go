// Package export writes the weekly evidence: CSV files (one per report
// table) and the PDF document.
package export

import (
	"archive/zip"
	"encoding/csv"
	"fmt"
	"io"
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
	if err := WriteCSV(f, t); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteCSV writes one table as RFC 4180 CSV, cells that a spreadsheet
// would run as a formula neutralised.
func WriteCSV(w io.Writer, t *compliance.Table) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	out := make([]string, len(t.Columns))
	for _, row := range t.Rows {
		for i, c := range row {
			out[i] = report.CSVCell(c)
		}
		if err := cw.Write(out[:len(row)]); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVZip writes the tables as one zip of CSV files named as CSV names
// them, for a single download.
func CSVZip(w io.Writer, week string, tables []*compliance.Table) error {
	zw := zip.NewWriter(w)
	for _, t := range tables {
		f, err := zw.Create(week + "-" + t.Report.Name + ".csv")
		if err != nil {
			return err
		}
		if err := WriteCSV(f, t); err != nil {
			return fmt.Errorf("export %s: %w", t.Report.Name, err)
		}
	}
	return zw.Close()
}
