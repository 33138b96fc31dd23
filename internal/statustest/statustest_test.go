package statustest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHostRecordsInOrder(t *testing.T) {
	h := NewHost()
	assert.Empty(t, h.Statuses())
	componentstatus.ReportStatus(h, componentstatus.NewRecoverableErrorEvent(errors.New("down")))
	componentstatus.ReportStatus(h, componentstatus.NewEvent(componentstatus.StatusOK))
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, h.Statuses())
	assert.EqualError(t, h.Events()[0].Err(), "down")
	assert.Empty(t, h.GetExtensions())
}
